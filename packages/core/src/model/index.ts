export { createModel } from './create.ts';
export { GeminiModel, type GeminiModelOptions, geminiError, toContents } from './gemini.ts';
export { quote, SimulatedModel, type SimulatedModelOptions, tokenize } from './simulated.ts';
export type { ModelProvider, ModelStreamOptions, ModelStreamResult } from './types.ts';
