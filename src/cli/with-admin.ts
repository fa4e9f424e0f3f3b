import { createAdmin, type Admin } from '../client/admin/index.js';

/** Run `fn` with an admin client for the CLI's short-lived commands, always closing it. */
export async function withAdmin<T>(bootstrap: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createAdmin({ bootstrapServers: bootstrap, clientId: 'fjord-cli', retries: 2, requestTimeoutMs: 15_000 });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}
