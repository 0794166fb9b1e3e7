// npm run admin -- <command>: manage organizations and API keys straight in the database (the same one
// the service uses, from the same environment). With embedded PGlite, stop the service first: PGlite
// allows one process at a time.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { AuthService } from '../services/auth.ts';
import { ApiError } from '../errors.ts';

const USAGE = `usage: npm run admin -- <command>
  create-org <name>                 make an organization and print its first API key
  create-key <organization-id> [name]   make another key (printed once)
  list-orgs                         list organizations
  list-keys <organization-id>       list keys (prefixes only)
  revoke-key <organization-id> <key-id>`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    await migrate(database);
    const auth = new AuthService(database.db, config.adminKey);
    switch (command) {
      case 'create-org': {
        if (!rest[0]) break;
        const org = await auth.createOrganization(rest[0]);
        const { key } = await auth.createKey(org.id, 'initial');
        console.log(`organization ${org.id} (${org.name})\napi key (shown once): ${key}`);
        return 0;
      }
      case 'create-key': {
        if (!rest[0]) break;
        const { key, row } = await auth.createKey(rest[0], rest[1] ?? 'cli');
        console.log(`key ${row.id} for ${row.organizationId}\napi key (shown once): ${key}`);
        return 0;
      }
      case 'list-orgs':
        for (const o of await auth.listOrganizations()) console.log(`${o.id}\t${o.name}\t${o.createdAt.toISOString()}`);
        return 0;
      case 'list-keys': {
        if (!rest[0]) break;
        for (const k of await auth.listKeys(rest[0])) {
          console.log(`${k.id}\t${k.prefix}…\t${k.name}\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}`);
        }
        return 0;
      }
      case 'revoke-key':
        if (!rest[0] || !rest[1]) break;
        await auth.revokeKey(rest[0], rest[1]);
        console.log(`revoked ${rest[1]}`);
        return 0;
    }
    console.error(USAGE);
    return 2;
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
