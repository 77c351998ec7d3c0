import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";

import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { DescriptorIndex } from "./descriptor-index.js";

type Answer = MessageInitShape<typeof v1.ServerReflectionResponseSchema>["messageResponse"];

/**
 * reflectionV1Handlers implements grpc.reflection.v1. Like health, it needs
 * no credentials and bypasses the call boundary: it reveals only the schema,
 * which is public.
 */
export function reflectionV1Handlers(
  index: DescriptorIndex,
): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      // Imports already sent on this stream are not sent again.
      const sent = new Set<string>();
      for await (const request of requests) yield respond(index, request, sent);
    },
  };
}

/**
 * reflectionV1alphaHandlers implements grpc.reflection.v1alpha, which older
 * clients use. Its messages are v1's under another package name, so each one
 * passes through the wire format to reuse the v1 answers unchanged.
 */
export function reflectionV1alphaHandlers(
  index: DescriptorIndex,
): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const asV1 = fromBinary(
          v1.ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        const answer = respond(index, asV1, sent);
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(v1.ServerReflectionResponseSchema, answer),
        );
      }
    },
  };
}

function respond(
  index: DescriptorIndex,
  request: v1.ServerReflectionRequest,
  sent: Set<string>,
): v1.ServerReflectionResponse {
  return create(v1.ServerReflectionResponseSchema, {
    validHost: request.host,
    originalRequest: request,
    messageResponse: answer(index, request.messageRequest, sent),
  });
}

function answer(
  index: DescriptorIndex,
  question: v1.ServerReflectionRequest["messageRequest"],
  sent: Set<string>,
): Answer {
  switch (question.case) {
    case "fileByFilename": {
      const file = index.fileByName(question.value);
      if (file === undefined) return notFound(`no file named ${JSON.stringify(question.value)}`);
      return files(index.withImports(file, sent));
    }
    case "fileContainingSymbol": {
      const file = index.fileContainingSymbol(question.value);
      if (file === undefined) return notFound(`no symbol named ${JSON.stringify(question.value)}`);
      return files(index.withImports(file, sent));
    }
    case "fileContainingExtension": {
      // No served file declares an extension.
      const { containingType, extensionNumber } = question.value;
      return notFound(`no extension ${extensionNumber} of ${JSON.stringify(containingType)}`);
    }
    case "allExtensionNumbersOfType": {
      if (!index.isMessage(question.value)) {
        return notFound(`no message type named ${JSON.stringify(question.value)}`);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: question.value, extensionNumber: [] },
      };
    }
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      };
    default:
      return {
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "the request asks nothing" },
      };
  }
}

function files(serialized: Uint8Array[]): Answer {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: serialized } };
}

// Reflection reports a failed lookup inside the stream, as an answer, and
// keeps the stream open for the next question.
function notFound(message: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}
