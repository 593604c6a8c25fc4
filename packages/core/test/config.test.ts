import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_GEMINI_MODEL_ID, loadConfig } from '../src/index.ts';

describe('loadConfig', () => {
  it('defaults to the simulated model without a key, Gemini with one', () => {
    const offline = loadConfig({});
    expect(offline).toMatchObject({ provider: 'simulated', host: '127.0.0.1', port: undefined });
    const online = loadConfig({ GEMINI_API_KEY: 'k' });
    expect(online).toMatchObject({ provider: 'gemini', geminiApiKey: 'k', modelId: DEFAULT_GEMINI_MODEL_ID });
    expect(loadConfig({ GOOGLE_API_KEY: 'g' }).geminiApiKey).toBe('g');
    expect(loadConfig({ GEMINI_API_KEY: 'k', GENAI_PROVIDER: 'simulated' }).provider).toBe('simulated');
  });

  it('parses numbers and treats empty values as unset', () => {
    const c = loadConfig({ PORT: '9000', SIM_TTFT_MS: '0', SIM_TOKEN_DELAY_MS: '', MAX_MESSAGE_CHARS: '50' });
    expect(c.port).toBe(9000);
    expect(c.simTtftMs).toBe(0);
    expect(c.simTokenDelayMs).toBeGreaterThan(0);
    expect(c.maxMessageChars).toBe(50);
    expect(c.simFailAfterTokens).toBeUndefined();
    expect(loadConfig({ SIM_FAIL_AFTER_TOKENS: '3' }).simFailAfterTokens).toBe(3);
  });

  it('names every bad variable and what it accepts', () => {
    expect(() => loadConfig({ PORT: 'eighty', GENAI_PROVIDER: 'openai' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', GENAI_PROVIDER: 'openai' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('PORT="eighty"');
      expect(message).toContain('port to listen on');
      expect(message).toContain('GENAI_PROVIDER="openai"');
      expect(message).toMatch(/auto.*gemini.*simulated/);
    }
    expect(() => loadConfig({ GENAI_PROVIDER: 'gemini' })).toThrow(/GEMINI_API_KEY/);
    expect(() => loadConfig({ SIM_TOKEN_DELAY_MS: '-5' })).toThrow(/SIM_TOKEN_DELAY_MS/);
  });
});
