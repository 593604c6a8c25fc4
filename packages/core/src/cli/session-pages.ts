import type { SessionListPage } from '../chat-service.ts';
import type { Session } from '../events.ts';

/**
 * How many pages a client reads when it wants every session (`/switch <prefix>`): at the servers'
 * default of 50 a page, 2,000 sessions, and a bound on a cursor that never ends.
 */
export const MAX_SESSION_PAGES = 40;

/** Follow nextCursor from the first page; stops after MAX_SESSION_PAGES pages. */
export async function allSessions(page: (cursor?: string) => Promise<SessionListPage>): Promise<Session[]> {
  const sessions: Session[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < MAX_SESSION_PAGES; n += 1) {
    const next = await page(cursor);
    sessions.push(...next.sessions);
    cursor = next.nextCursor;
    if (!cursor) break;
  }
  return sessions;
}
