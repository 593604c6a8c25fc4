// Original file: ../../proto/genai/chat/v1/chat.proto


/**
 * One page of the caller's sessions.
 */
export interface ListSessionsRequest {
  /**
   * Sessions per page, 1 to 100; 0: the default (50).
   */
  'pageSize'?: (number);
  /**
   * The next_page_token of the previous page; empty: the first page.
   */
  'pageToken'?: (string);
}

/**
 * One page of the caller's sessions.
 */
export interface ListSessionsRequest__Output {
  /**
   * Sessions per page, 1 to 100; 0: the default (50).
   */
  'pageSize': (number);
  /**
   * The next_page_token of the previous page; empty: the first page.
   */
  'pageToken': (string);
}
