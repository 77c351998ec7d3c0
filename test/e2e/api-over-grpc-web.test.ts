import { connectClient } from "../support/api-clients.js";
import { describeApi } from "./api-cases.js";

describeApi("grpc-web", ({ hostPort, url }) => connectClient(url, "grpc-web"));
