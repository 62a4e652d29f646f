import { isolationSuite } from './helpers/isolation-suite.js';

/** Tenant isolation on PostgreSQL (API and worker in one process, on a fresh database per scenario). */
isolationSuite('postgres');
