import type { Config } from '../config.ts';
import { GeminiModel } from './gemini.ts';
import { SimulatedModel } from './simulated.ts';
import type { ModelProvider } from './types.ts';

/** The provider the configuration asks for: Gemini with a key, the simulated model without. */
export function createModel(config: Config): ModelProvider {
  if (config.provider === 'gemini' && config.geminiApiKey) {
    return new GeminiModel({
      apiKey: config.geminiApiKey,
      modelId: config.modelId,
      maxOutputTokens: config.maxOutputTokens,
    });
  }
  return new SimulatedModel({
    ttftMs: config.simTtftMs,
    tokenDelayMs: config.simTokenDelayMs,
    ...(config.simFailAfterTokens !== undefined ? { failAfterTokens: config.simFailAfterTokens } : {}),
  });
}
