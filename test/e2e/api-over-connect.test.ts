import { connectClient } from "../support/api-clients.js";
import { describeApi } from "./api-cases.js";

describeApi("connect", ({ hostPort, url }) => connectClient(url, "connect"));
