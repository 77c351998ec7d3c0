import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMessage,
  type DescMethod,
  type JsonValue,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";

import { AuthProvidersService } from "../../gen/ucloud/auth/v1/auth_providers_pb.js";
import { rememberSecretsIn } from "./secret-ledger.js";

/** ApiError is a failed call, with the gRPC code name (e.g. INVALID_ARGUMENT). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * ApiClient calls the service over one transport with proto3 JSON in and
 * out, so one table of cases can run over every transport.
 */
export interface ApiClient {
  readonly transport: string;
  call(rpc: string, request: JsonValue, token?: string): Promise<Record<string, unknown>>;
  close(): void;
}

function method(rpc: string): DescMethod {
  const found = AuthProvidersService.methods.find((m) => m.name === rpc);
  if (found === undefined) throw new Error(`no method ${rpc}`);
  return found;
}

// Every answer passes through here, so the secret ledger sees every secret
// the service handed out, whatever the transport.
function asPlain(schema: DescMessage, message: Parameters<typeof toJson>[1]) {
  const plain = toJson(schema, message, { alwaysEmitImplicit: false }) as Record<string, unknown>;
  rememberSecretsIn(plain);
  return plain;
}

/** grpcClient calls over HTTP/2 with @grpc/grpc-js, as UCloud's internal services do. */
export function grpcClient(address: string): ApiClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());

  return {
    transport: "grpc-js",
    call(rpc, request, token) {
      const m = method(rpc);
      const metadata = new grpc.Metadata();
      if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
      rememberSecretsIn(request);

      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          `/${AuthProvidersService.typeName}/${m.name}`,
          (value: JsonValue) => Buffer.from(toBinary(m.input, fromJson(m.input, value))),
          (bytes: Buffer) => fromBinary(m.output, bytes),
          request,
          metadata,
          { deadline: Date.now() + 60_000 },
          (error, response) => {
            if (error !== null) {
              reject(new ApiError(grpc.status[error.code] ?? "UNKNOWN", error.details));
            } else {
              resolve(asPlain(m.output, response!));
            }
          },
        );
      });
    },
    close: () => client.close(),
  };
}

/** connectClient calls with the Connect protocol (JSON) or gRPC-Web over HTTP/1.1. */
export function connectClient(baseUrl: string, protocol: "connect" | "grpc-web"): ApiClient {
  const options = { baseUrl, httpVersion: "1.1" as const };
  const transport =
    protocol === "connect"
      ? createConnectTransport({ ...options, useBinaryFormat: false })
      : createGrpcWebTransport(options);
  const client = createClient(AuthProvidersService, transport);

  return {
    transport: protocol,
    async call(rpc, request, token) {
      const m = method(rpc);
      const headers = token === undefined ? undefined : { authorization: `Bearer ${token}` };
      rememberSecretsIn(request);
      const invoke = client[m.localName as keyof typeof client] as (
        input: unknown,
        options: { headers?: Record<string, string> },
      ) => Promise<Parameters<typeof toJson>[1]>;
      try {
        const response = await invoke(create(m.input, fromJson(m.input, request)), { headers });
        return asPlain(m.output, response);
      } catch (error) {
        const connectError = ConnectError.from(error);
        throw new ApiError(grpcCodeName(connectError.code), connectError.rawMessage);
      }
    },
    close: () => undefined,
  };
}

function grpcCodeName(code: Code): string {
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
