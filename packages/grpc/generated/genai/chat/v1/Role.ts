// Original file: ../../proto/genai/chat/v1/chat.proto

/**
 * Who said a message.
 */
export const Role = {
  /**
   * Never sent; the proto3 zero value.
   */
  ROLE_UNSPECIFIED: 'ROLE_UNSPECIFIED',
  /**
   * The person chatting.
   */
  ROLE_USER: 'ROLE_USER',
  /**
   * The model.
   */
  ROLE_MODEL: 'ROLE_MODEL',
} as const;

/**
 * Who said a message.
 */
export type Role =
  /**
   * Never sent; the proto3 zero value.
   */
  | 'ROLE_UNSPECIFIED'
  | 0
  /**
   * The person chatting.
   */
  | 'ROLE_USER'
  | 1
  /**
   * The model.
   */
  | 'ROLE_MODEL'
  | 2

/**
 * Who said a message.
 */
export type Role__Output = typeof Role[keyof typeof Role]
