import { grpcClient } from "../support/api-clients.js";
import { describeApi } from "./api-cases.js";

describeApi("grpc-js", ({ hostPort, url }) => grpcClient(hostPort));
