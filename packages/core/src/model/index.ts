export type { ModelProvider, ModelStreamOptions, ModelStreamResult } from './types.ts';
export { SimulatedModel, type SimulatedModelOptions, tokenize } from './simulated.ts';
export { GeminiModel, type GeminiModelOptions, geminiError, toContents } from './gemini.ts';
export { createModel } from './create.ts';
