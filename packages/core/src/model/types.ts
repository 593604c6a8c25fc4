import type { FinishReason, Message, ModelInfo, Usage } from '../events.ts';

export interface ModelStreamOptions {
  /** Aborting it stops the generation, upstream included. */
  signal?: AbortSignal;
}

/** What a finished stream returns (the generator's return value, after its last text). */
export interface ModelStreamResult {
  finishReason: Exclude<FinishReason, 'cancelled'>;
  /** Token counts as the model reported them; undefined when it reported none. */
  usage?: Usage;
}

/**
 * A model: given the history (ending with the user's new turn), yields text as it is produced.
 * Failures are thrown as ChatError (`model_error`, `rate_limited`, `unauthorized`…).
 */
export interface ModelProvider {
  readonly info: ModelInfo;
  stream(
    history: readonly Message[],
    options?: ModelStreamOptions,
  ): AsyncGenerator<string, ModelStreamResult>;
}
