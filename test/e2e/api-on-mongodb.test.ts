import { afterAll, describe } from "vitest";

import { startMongoSuite } from "../store/mongo-fixtures.js";
import { grpcClient } from "../support/api-clients.js";
import { describeApi } from "./api-cases.js";

// The whole end-to-end table once more, with the service on the MongoDB
// store (FerretDB started here, or the server in MONGODB_URI).
const suite = await startMongoSuite("the API on MongoDB", { probeRaces: false });
afterAll(() => suite?.close());

describe.skipIf(suite === undefined)(`on ${suite?.label ?? "no MongoDB server"}`, () => {
  describeApi(
    "grpc-js",
    ({ hostPort }) => grpcClient(hostPort),
    () => suite!.openStore(),
  );
});
