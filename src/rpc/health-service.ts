import { setTimeout as sleep } from "node:timers/promises";

import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";

import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type Health,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { ServiceHealth, ServingState } from "../service/service-health.js";

/** HealthHandlerOptions say where the state comes from and which names a probe may ask about. */
export interface HealthHandlerOptions {
  health: ServiceHealth;
  /** Names a probe may ask about; "" stands for the whole server. */
  services: readonly string[];
  /** How often a Watch stream looks at the state again. */
  watchPollMs: number;
}

/**
 * healthHandlers implements grpc.health.v1.Health. It needs no credentials
 * and bypasses the call boundary: probes must work whatever the caller keys.
 */
export function healthHandlers(options: HealthHandlerOptions): ServiceImpl<typeof Health> {
  const known = new Set(options.services);

  return {
    async check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(`unknown service ${JSON.stringify(request.service)}`, Code.NotFound);
      }
      return { status: toStatus(await options.health.state()) };
    },

    async *watch(request, context) {
      const signal = AbortSignal.any([context.signal, options.health.stopped]);

      // The protocol keeps a Watch on an unknown name open, in case the
      // service appears later; none does here, so it only waits for the end.
      if (!known.has(request.service)) {
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        await pause(signal, Number.MAX_SAFE_INTEGER);
        return;
      }

      let last: ServingStatus | undefined;
      while (!signal.aborted) {
        const status = toStatus(await options.health.state());
        if (status !== last) {
          last = status;
          yield { status };
        }
        await pause(signal, options.watchPollMs);
      }
      // The last word of a stream that ends at shutdown is NOT_SERVING.
      if (options.health.stopped.aborted && last !== ServingStatus.NOT_SERVING) {
        yield { status: ServingStatus.NOT_SERVING };
      }
    },
  };
}

function toStatus(state: ServingState): ServingStatus {
  return state === "serving" ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

async function pause(signal: AbortSignal, ms: number): Promise<void> {
  try {
    await sleep(Math.min(ms, 2 ** 31 - 1), undefined, { signal });
  } catch {
    // Aborted: the caller looks at the signal.
  }
}
