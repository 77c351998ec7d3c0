import { afterAll, describe } from "vitest";

import { startMongoSuite } from "../store/mongo-fixtures.js";
import { describeAttacks } from "./attack-cases.js";
import { describeThrottling } from "./throttle-cases.js";

// The attack suite once more, with the service on the MongoDB store
// (FerretDB started here, or the server in MONGODB_URI).
const suite = await startMongoSuite("the attack suite on MongoDB", { probeRaces: false });
afterAll(() => suite?.close());

describe.skipIf(suite === undefined)(`on ${suite?.label ?? "no MongoDB server"}`, () => {
  const stores = () => suite!.openStore();
  describeAttacks("MongoDB", stores);
  describeThrottling("MongoDB", stores);
});
