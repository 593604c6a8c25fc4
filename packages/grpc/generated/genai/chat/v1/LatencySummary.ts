// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * Latency percentiles over the most recent samples, in milliseconds.
 */
export interface LatencySummary {
  /**
   * How many samples were recorded in all.
   */
  'count'?: (number);
  /**
   * Median.
   */
  'p50'?: (number | string);
  /**
   * 95th percentile.
   */
  'p95'?: (number | string);
  /**
   * 99th percentile.
   */
  'p99'?: (number | string);
  /**
   * Mean.
   */
  'mean'?: (number | string);
  /**
   * Largest.
   */
  'max'?: (number | string);
}

/**
 * Latency percentiles over the most recent samples, in milliseconds.
 */
export interface LatencySummary__Output {
  /**
   * How many samples were recorded in all.
   */
  'count': (number);
  /**
   * Median.
   */
  'p50': (number);
  /**
   * 95th percentile.
   */
  'p95': (number);
  /**
   * 99th percentile.
   */
  'p99': (number);
  /**
   * Mean.
   */
  'mean': (number);
  /**
   * Largest.
   */
  'max': (number);
}
