import pg from 'pg';
import { describePluginConformance } from '../../../src/plugin-kit/index.js';
import { mariadbPlugin } from '../../../src/plugins/mariadb/index.js';
import { postgresPlugin } from '../../../src/plugins/postgres/index.js';
import * as maria from '../../helpers/mariadb-fixture.js';
import * as pgf from '../../helpers/postgres-fixture.js';
import { mariadbUrl, pgUrl, requireService } from '../../helpers/services.js';
import { databaseFixtures } from './database-fixture.js';

/** The database plugins pass the suite plugin authors run, against the real servers of this machine. */
describe('built-in database plugins', () => {
  describe('PostgreSQL', function () {
    before(function () {
      requireService(this, 'PostgreSQL', pgUrl());
    });
    describePluginConformance(
      postgresPlugin,
      databaseFixtures(
        {
          plugin: 'postgres',
          server: () => ({ host: new URL(pgUrl()).hostname, port: Number(new URL(pgUrl()).port || 5432) }),
          uniqueName: (label) => pgf.uniqueName(`bwk_pg_${label}`),
          createDb: pgf.createDb,
          dropDb: pgf.dropDb,
          dbExists: pgf.dbExists,
          populate: pgf.populate,
          fingerprint: pgf.fingerprint,
          async createAccount(password) {
            const role = pgf.uniqueName('bwk_conf_role');
            await pgf.admin(`create role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(password)} superuser`);
            return role;
          },
          dropAccount: async (role) => void (await pgf.admin(`drop role if exists ${pg.escapeIdentifier(role)}`)),
        },
        20_000,
      ),
    );
  });

  describe('MariaDB', function () {
    before(function () {
      requireService(this, 'MariaDB', mariadbUrl());
    });
    const account = (user: string): string => `${maria.quote(user)}@'127.0.0.1'`;
    describePluginConformance(
      mariadbPlugin,
      databaseFixtures(
        {
          plugin: 'mariadb',
          server: () => ({ host: new URL(mariadbUrl()).hostname, port: Number(new URL(mariadbUrl()).port || 3306) }),
          uniqueName: (label) => maria.uniqueName(`bwk_my_${label}`),
          createDb: maria.createDb,
          dropDb: maria.dropDb,
          dbExists: maria.dbExists,
          populate: maria.populate,
          fingerprint: maria.fingerprint,
          async createAccount(password) {
            const user = maria.uniqueName('bwk_conf');
            await maria.sql(`CREATE USER ${account(user)} IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO ${account(user)};`);
            return user;
          },
          dropAccount: async (user) => void (await maria.sql(`DROP USER IF EXISTS ${account(user)};`)),
        },
        20_000,
      ),
    );
  });
});
