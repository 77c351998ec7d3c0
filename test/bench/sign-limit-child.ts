import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/** SignLimitResult is what one measurement process prints, as JSON. */
export interface SignLimitResult {
  threads: number;
  seconds: number;
  signatures: number;
  perSecond: number;
  inputBytes: number;
}

interface WorkerInput {
  durationMs: number;
}

/**
 * signingInput is a header.claims string of the size this service signs: a
 * 43-character kid, a provider subject, issuer, audience, times and a jti.
 */
export function signingInput(): Buffer {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "RS256", typ: "JWT", kid: "k".repeat(43) });
  const claims = encode({
    role: "PROVIDER",
    principalType: "provider",
    sub: "#P_provider-0001",
    iss: "cloud.sdu.dk",
    aud: ["all:write"],
    iat: 1_800_000_000,
    exp: 1_800_000_600,
    jti: randomUUID(),
  });
  return Buffer.from(`${header}.${claims}`);
}

// Each thread signs with its own key, made before the clock starts, in a
// tight loop of synchronous crypto.sign: nothing but the signature is timed.
function signForAWhile(durationMs: number): number {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const data = signingInput();
  sign("sha256", data, privateKey);

  let count = 0;
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    for (let i = 0; i < 16; i++) sign("sha256", data, privateKey);
    count += 16;
  }
  return count;
}

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? "1");
  const durationMs = Number(process.argv[3] ?? "3") * 1000;

  const started = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const input: WorkerInput = { durationMs };
          const worker = new Worker(new URL(import.meta.url), { workerData: input });
          worker.once("message", (count: number) => resolve(count));
          worker.once("error", reject);
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  // Key generation before the loop is not signing: time the loops alone.
  const signatures = counts.reduce((a, b) => a + b, 0);
  const result: SignLimitResult = {
    threads,
    seconds,
    signatures,
    perSecond: signatures / (durationMs / 1000),
    inputBytes: signingInput().length,
  };
  process.stdout.write(JSON.stringify(result));
}

if (isMainThread) {
  main().catch((error: unknown) => {
    process.stderr.write(`sign limit: ${String(error)}\n`);
    process.exit(1);
  });
} else {
  const { durationMs } = workerData as WorkerInput;
  parentPort?.postMessage(signForAWhile(durationMs));
}
