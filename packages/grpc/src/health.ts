/**
 * grpc.health.v1 (grpc-health-check): what load balancers and orchestrators probe. "" is the
 * whole server, `genai.chat.v1.ChatService` ours; both say the same thing:
 * - SERVING while the server works;
 * - with Redis (REDIS_URL), NOT_SERVING while the store or the broker does not answer (a
 *   balancer then sends the calls elsewhere, the calls here would fail), SERVING once it is back;
 *   in memory there is nothing to lose;
 * - NOT_SERVING for good once shutdown begins, so no new calls are sent here.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ChatService, Logger } from '@gtp/core';
import { HealthImplementation } from 'grpc-health-check';
import { CHAT_SERVICE_NAME } from './proto.ts';

/** The health service's methods: probes, which the access check lets through without a token. */
export const HEALTH_PATH_PREFIX = '/grpc.health.v1.Health/';

/**
 * How often, with Redis, the health service asks whether the store and the broker answer. With
 * the ping's own deadline (DEPENDENCY_PING_TIMEOUT_MS, 500 ms) a frozen Redis turns the status
 * NOT_SERVING within about a second.
 */
export const DEPENDENCY_CHECK_INTERVAL_MS = 500;

type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface ServerHealth {
  /** Shutdown began: NOT_SERVING from now on, and the dependency polling stops. */
  shutdown(): void;
}

/** Register grpc.health.v1 on the server and keep its status true. */
export function addHealthService(server: grpc.Server, chat: ChatService, logger: Logger): ServerHealth {
  const health = new HealthImplementation({ '': 'SERVING', [CHAT_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  let status: ServingStatus = 'SERVING';
  let shuttingDown = false;
  // Only changes are set: a Health/Watch stream sends one message per setStatus.
  const set = (next: ServingStatus) => {
    if (next === status) return;
    status = next;
    health.setStatus('', next);
    health.setStatus(CHAT_SERVICE_NAME, next);
  };

  let checking = false;
  const dependencyCheck =
    chat.store.kind === 'redis' || chat.broker.kind === 'redis' || chat.log.kind === 'redis'
      ? setInterval(() => {
          if (checking) return; // a ping that waits for its time-out is not asked again meanwhile
          checking = true;
          chat
            .dependencies()
            .then((dependencies) => {
              if (shuttingDown) return; // shutdown owns the status once it began
              const up = dependencies.store && dependencies.broker && dependencies.log;
              const next = up ? 'SERVING' : 'NOT_SERVING';
              if (next === status) return;
              if (up) logger.info({ dependencies }, 'Redis answers again: SERVING');
              else logger.warn({ dependencies }, 'Redis does not answer: NOT_SERVING');
              set(next);
            })
            .catch((error: unknown) => logger.error({ err: error }, 'dependency check failed'))
            .finally(() => {
              checking = false;
            });
        }, DEPENDENCY_CHECK_INTERVAL_MS).unref() // this timer never keeps the process alive
      : undefined;

  return {
    shutdown() {
      shuttingDown = true;
      clearInterval(dependencyCheck);
      set('NOT_SERVING');
    },
  };
}
