import { describeAttacks } from "./attack-cases.js";
import { describeThrottling } from "./throttle-cases.js";

// The attack suite against the service on its embedded in-memory store.
describeAttacks("the memory store");
describeThrottling("the memory store");
