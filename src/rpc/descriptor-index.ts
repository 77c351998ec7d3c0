import { toBinary } from "@bufbuild/protobuf";
import type { DescEnum, DescFile, DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * DescriptorIndex answers the questions server reflection asks, from the
 * generated descriptors of the files the server was built with: which file
 * has a given name or defines a given symbol, and what each file looks like
 * on the wire as a FileDescriptorProto.
 */
export class DescriptorIndex {
  private readonly byName = new Map<string, DescFile>();
  private readonly bySymbol = new Map<string, DescFile>();
  private readonly messageNames = new Set<string>();
  private readonly serialized = new Map<DescFile, Uint8Array>();

  /** `files` are the served files; every file they import is indexed too. */
  constructor(
    files: readonly DescFile[],
    readonly serviceNames: readonly string[],
  ) {
    for (const file of files) this.addWithImports(file);
  }

  /** fileByName finds a file by its path, e.g. "ucloud/auth/v1/models.proto". */
  fileByName(name: string): DescFile | undefined {
    return this.byName.get(name);
  }

  /** fileContainingSymbol finds the file that defines a fully qualified name. */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    // Clients may write names the way they appear in .proto type references.
    return this.bySymbol.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
  }

  /** isMessage tells whether a fully qualified name is a message type. */
  isMessage(typeName: string): boolean {
    return this.messageNames.has(typeName);
  }

  /**
   * withImports serializes `file` followed by every file it imports,
   * transitively, leaving out imports whose names are in `alreadySent`; the
   * file asked for is always included. Names sent are added to `alreadySent`.
   */
  withImports(file: DescFile, alreadySent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue: DescFile[] = [file];
    const seen = new Set<DescFile>();

    while (queue.length > 0) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);

      const name = fileName(next);
      if (next === file || !alreadySent.has(name)) {
        out.push(this.bytesOf(next));
        alreadySent.add(name);
      }
      queue.push(...next.dependencies);
    }
    return out;
  }

  private bytesOf(file: DescFile): Uint8Array {
    let bytes = this.serialized.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.serialized.set(file, bytes);
    }
    return bytes;
  }

  private addWithImports(file: DescFile): void {
    const name = fileName(file);
    if (this.byName.has(name)) return;
    this.byName.set(name, file);

    for (const service of file.services) {
      this.bySymbol.set(service.typeName, file);
      for (const method of service.methods) {
        this.bySymbol.set(`${service.typeName}.${method.name}`, file);
      }
    }
    for (const message of file.messages) this.addMessage(file, message);
    for (const enumeration of file.enums) this.addEnum(file, enumeration, file.proto.package);
    for (const extension of file.extensions) this.bySymbol.set(extension.typeName, file);

    for (const imported of file.dependencies) this.addWithImports(imported);
  }

  private addMessage(file: DescFile, message: DescMessage): void {
    this.bySymbol.set(message.typeName, file);
    this.messageNames.add(message.typeName);
    for (const field of message.fields)
      this.bySymbol.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs)
      this.bySymbol.set(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) this.addMessage(file, nested);
    for (const nested of message.nestedEnums) this.addEnum(file, nested, message.typeName);
    for (const extension of message.nestedExtensions) this.bySymbol.set(extension.typeName, file);
  }

  // Enum values live in the scope that encloses their enum, as in C++, so
  // `grpc.health.v1.HealthCheckResponse.SERVING` names a value.
  private addEnum(file: DescFile, enumeration: DescEnum, scope: string): void {
    this.bySymbol.set(enumeration.typeName, file);
    for (const value of enumeration.values) {
      this.bySymbol.set(scope === "" ? value.name : `${scope}.${value.name}`, file);
    }
  }
}

/** fileName is a file's path as imports spell it, with its `.proto` suffix. */
function fileName(file: DescFile): string {
  return file.proto.name;
}
