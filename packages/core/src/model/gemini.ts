import type { ApiError, Content, GoogleGenAI } from '@google/genai';
import { SYSTEM_PROMPT } from '../constants.ts';
import { ChatError, isAbortError } from '../errors.ts';
import type { Message, ModelInfo } from '../events.ts';
import type { ModelProvider, ModelStreamOptions, ModelStreamResult } from './types.ts';

export interface GeminiModelOptions {
  apiKey: string;
  modelId: string;
  /** Override the API endpoint (the SDK also honours GOOGLE_GEMINI_BASE_URL). */
  baseUrl?: string;
  systemPrompt?: string;
  /** The most tokens Gemini may produce for one reply (generationConfig.maxOutputTokens). */
  maxOutputTokens?: number;
}

/** Our history in Gemini's `contents` shape: alternating user/model turns. */
export function toContents(history: readonly Message[]): Content[] {
  // Gemini rejects empty parts: a reply cancelled before its first token is sent as a marker.
  return history.map((m) => ({ role: m.role, parts: [{ text: m.text || '(reply interrupted)' }] }));
}

/**
 * The SDK (~20 MiB and ~100 modules with google-auth-library) is loaded on the first reply, so a
 * server on the simulated model, or one that only imports @gtp/core, never pays for it.
 */
let sdk: Promise<typeof import('@google/genai')> | undefined;
const loadSdk = () => (sdk ??= import('@google/genai'));

/** Gemini through the official SDK, streaming with `generateContentStream`. */
export class GeminiModel implements ModelProvider {
  readonly info: ModelInfo;
  readonly #options: GeminiModelOptions;
  #ai: GoogleGenAI | undefined;
  readonly #systemPrompt: string;
  readonly #maxOutputTokens: number | undefined;

  constructor(options: GeminiModelOptions) {
    this.info = { provider: 'gemini', id: options.modelId };
    this.#systemPrompt = options.systemPrompt ?? SYSTEM_PROMPT;
    this.#maxOutputTokens = options.maxOutputTokens;
    this.#options = options;
  }

  async #client(): Promise<GoogleGenAI> {
    const { GoogleGenAI } = await loadSdk();
    this.#ai ??= new GoogleGenAI({
      apiKey: this.#options.apiKey,
      ...(this.#options.baseUrl ? { httpOptions: { baseUrl: this.#options.baseUrl } } : {}),
    });
    return this.#ai;
  }

  async *stream(
    history: readonly Message[],
    options: ModelStreamOptions = {},
  ): AsyncGenerator<string, ModelStreamResult> {
    const { signal } = options;
    let finish: string | undefined;
    let usage: ModelStreamResult['usage'];
    const { FinishReason: GeminiFinishReason } = await loadSdk();
    try {
      const ai = await this.#client();
      const chunks = await ai.models.generateContentStream({
        model: this.info.id,
        contents: toContents(history),
        // The SDK aborts the upstream fetch with this signal: cancellation reaches Google.
        config: {
          systemInstruction: this.#systemPrompt,
          ...(this.#maxOutputTokens ? { maxOutputTokens: this.#maxOutputTokens } : {}),
          ...(signal ? { abortSignal: signal } : {}),
        },
      });
      for await (const chunk of chunks) {
        const text = chunk.text;
        if (text) yield text;
        const candidate = chunk.candidates?.[0];
        if (candidate?.finishReason) finish = candidate.finishReason;
        const meta = chunk.usageMetadata;
        if (meta) {
          usage = { inputTokens: meta.promptTokenCount ?? 0, outputTokens: meta.candidatesTokenCount ?? 0 };
        }
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw geminiError(error, this.info.id);
    }
    if (finish === GeminiFinishReason.SAFETY || finish === GeminiFinishReason.PROHIBITED_CONTENT) {
      throw new ChatError('model_error', `Gemini stopped the reply (${finish})`);
    }
    return { finishReason: finish === GeminiFinishReason.MAX_TOKENS ? 'max_tokens' : 'stop', usage };
  }
}

interface GoogleErrorBody {
  error?: { message?: string; status?: string; details?: Array<{ '@type'?: string; retryDelay?: string }> };
}

/** SDK failures as ChatErrors a user can act on. */
/** Google refused the server's key: the operator's to fix (GEMINI_API_KEY), never the caller's 401. */
function serverKeyRejected(status: number, detail: string, cause: unknown): ChatError {
  return new ChatError(
    'model_error',
    `Gemini rejected the server's API key (HTTP ${status}; check GEMINI_API_KEY): ${detail}`,
    { cause },
  );
}

/** The SDK's ApiError, known without loading the SDK (it may not be loaded yet). */
const isApiError = (error: unknown): error is ApiError =>
  error instanceof Error && error.name === 'ApiError' && typeof (error as ApiError).status === 'number';

export function geminiError(error: unknown, modelId: string): ChatError {
  if (error instanceof ChatError) return error;
  if (isAbortError(error)) return new ChatError('model_error', 'Gemini request aborted', { cause: error });
  if (isApiError(error)) {
    let body: GoogleErrorBody = {};
    try {
      body = JSON.parse(error.message) as GoogleErrorBody;
    } catch {
      // Not JSON: keep the raw message below.
    }
    const detail = body.error?.message ?? error.message;
    switch (error.status) {
      case 400:
        // The server's key, not the caller's credentials: a 502 that names the setting to fix.
        if (/api key/i.test(detail)) return serverKeyRejected(400, detail, error);
        return new ChatError('model_error', `Gemini rejected the request: ${detail}`, { cause: error });
      case 401:
      case 403:
        return serverKeyRejected(error.status, detail, error);
      case 404:
        return new ChatError('model_error', `Gemini model "${modelId}" was not found: set GENAI_MODEL_ID`, {
          cause: error,
        });
      case 429: {
        const delay = body.error?.details?.find((d) => d.retryDelay)?.retryDelay;
        const seconds = delay ? Math.ceil(Number.parseFloat(delay)) : undefined;
        const when = seconds !== undefined ? `; retry after ${seconds} s` : '';
        return new ChatError('rate_limited', `Gemini quota exceeded${when}: ${detail}`, {
          cause: error,
          ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}),
        });
      }
      default:
        return new ChatError('model_error', `Gemini failed (HTTP ${error.status}): ${detail}`, {
          cause: error,
        });
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ChatError('model_error', `Gemini request failed: ${message}`, { cause: error });
}
