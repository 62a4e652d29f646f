// Read-side statistics in PostgreSQL: delivery status views and counts, attempt series, queue gauges and endpoint latency.
import { idLowerBound } from '../retention.js';
import type { StatsOps } from '../concerns.js';
import type { Page } from '../../domain/types.js';
import {
  bucketsFromRows,
  countsByMessage,
  countsFromRows,
  deliveryListItemFromRow,
  deliveryListSelect,
  endpointMessageFromRow,
  endpointMessageSelect,
  queueStatsFromRow,
  queueStatsSql,
  statusTextCondition,
  statusTextSql,
} from '../delivery-status.js';
import { pageQuery } from '../paging.js';
import type {
  AttemptBucket,
  AttemptSeriesQuery,
  DeliveryCounts,
  DeliveryFilter,
  DeliveryListItem,
  EndpointLatency,
  EndpointMessage,
  EndpointMessageFilter,
  PageRequest,
  QueueStats,
} from '../store.js';
import { $, type PostgresDb, type Row } from './db.js';

export function postgresStats(db: PostgresDb): StatsOps {
  return {
    // ---- Delivery status views

    async listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>> {
      const params: unknown[] = [nowMs, appId];
      const clauses = ['d.app_id = $2'];
      const add = (clause: (p: string) => string, value: unknown): void => {
        params.push(value);
        clauses.push(clause($(params.length)));
      };
      if (filter.status) clauses.push(statusTextCondition('d', filter.status, '$1'));
      if (filter.endpointId) add((p) => `d.endpoint_id = ${p}`, filter.endpointId);
      if (filter.eventTypes && filter.eventTypes.length > 0) add((p) => `m.event_type = ANY(${p})`, filter.eventTypes);
      if (filter.beforeMs !== undefined) add((p) => `m.created_at < ${p}`, filter.beforeMs);
      if (filter.afterMs !== undefined) add((p) => `m.created_at > ${p}`, filter.afterMs);
      return db.paged(`${deliveryListSelect('$1')} WHERE ${clauses.join(' AND ')}`, params, 'd.id', pageQuery(page, 'descending'), deliveryListItemFromRow, (item) => item.delivery.id);
    },

    async listEndpointMessages(appId: string, endpointId: string, filter: EndpointMessageFilter, page: PageRequest, nowMs: number): Promise<Page<EndpointMessage>> {
      const params: unknown[] = [nowMs, endpointId, appId];
      const clauses = ['d.endpoint_id = $2', 'd.app_id = $3'];
      const add = (clause: (p: string) => string, value: unknown): void => {
        params.push(value);
        clauses.push(clause($(params.length)));
      };
      if (filter.status) clauses.push(statusTextCondition('d', filter.status, '$1'));
      if (filter.channel) add((p) => `m.channels @> ${p}::jsonb`, JSON.stringify([filter.channel]));
      if (filter.tag) add((p) => `m.tags @> ${p}::jsonb`, JSON.stringify([filter.tag]));
      if (filter.eventTypes && filter.eventTypes.length > 0) add((p) => `m.event_type = ANY(${p})`, filter.eventTypes);
      if (filter.beforeMs !== undefined) add((p) => `m.created_at < ${p}`, filter.beforeMs);
      if (filter.afterMs !== undefined) add((p) => `m.created_at > ${p}`, filter.afterMs);
      // By message id, as Svix pages this list (its iterators are message ids): a message has at most one delivery to
      // an endpoint. The index delivery_endpoint_message walks the endpoint's deliveries in that order.
      return db.paged(`${endpointMessageSelect('$1')} WHERE ${clauses.join(' AND ')}`, params, 'd.message_id', pageQuery(page, 'descending'), endpointMessageFromRow, (item) => item.message.id);
    },

    async countMessageDeliveries(messageIds: string[], nowMs: number): Promise<Map<string, DeliveryCounts>> {
      if (messageIds.length === 0) return new Map();
      const rows = (
        await db.pool.query(`SELECT d.message_id, ${statusTextSql('d', '$1')} AS s, count(*) AS n FROM delivery d WHERE d.message_id = ANY($2) GROUP BY 1, 2`, [nowMs, messageIds])
      ).rows;
      return countsByMessage(rows);
    },

    async endpointStats(endpointId: string, range: { sinceMs?: number | undefined; untilMs?: number | undefined }, nowMs: number): Promise<DeliveryCounts> {
      const params: unknown[] = [nowMs, endpointId];
      const clauses = ['d.endpoint_id = $2'];
      if (range.sinceMs !== undefined) {
        // A delivery's id is never older than its message: the range starts where the index does, not at the
        // endpoint's first delivery ever.
        params.push(idLowerBound('dlv', range.sinceMs));
        clauses.push(`d.id >= ${$(params.length)}`);
        params.push(range.sinceMs);
        clauses.push(`m.created_at >= ${$(params.length)}`);
      }
      if (range.untilMs !== undefined) {
        params.push(range.untilMs);
        clauses.push(`m.created_at < ${$(params.length)}`);
      }
      const rows = (
        await db.pool.query(
          `SELECT ${statusTextSql('d', '$1')} AS s, count(*) AS n FROM delivery d JOIN message m ON m.id = d.message_id WHERE ${clauses.join(' AND ')} GROUP BY 1`,
          params,
        )
      ).rows;
      return countsFromRows(rows);
    },

    async attemptSeries(appId: string, query: AttemptSeriesQuery): Promise<AttemptBucket[]> {
      const params: unknown[] = [query.sinceMs, query.bucketMs, appId, query.untilMs];
      let sql = 'SELECT (created_at - $1::bigint) / $2::bigint AS bucket, status, count(*) AS n FROM attempt WHERE app_id = $3 AND created_at >= $1 AND created_at < $4';
      if (query.endpointId) {
        params.push(query.endpointId);
        sql += ' AND endpoint_id = $5';
      }
      return bucketsFromRows((await db.pool.query(`${sql} GROUP BY 1, 2`, params)).rows, query.sinceMs, query.bucketMs);
    },

    // ---- Observability: metrics gauges and endpoint latency stats.

    async queueStats(nowMs: number): Promise<QueueStats> {
      return queueStatsFromRow((await db.pool.query(queueStatsSql('$1::bigint'), [nowMs])).rows[0] as Row);
    },

    async endpointLatency(appId: string, endpointId: string, range: { sinceMs: number; untilMs: number }): Promise<EndpointLatency> {
      const row = (
        await db.pool.query(
          `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'success') AS ok, max(response_duration_ms) AS max,
             percentile_disc(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY response_duration_ms) AS p
           FROM attempt WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND endpoint_id = $4`,
          [appId, range.sinceMs, range.untilMs, endpointId],
        )
      ).rows[0] as Row;
      const attempts = row.n as number;
      const succeeded = row.ok as number;
      if (attempts === 0) return { attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
      const [p50Ms, p90Ms, p99Ms] = row.p as number[];
      return { attempts, succeeded, failed: attempts - succeeded, p50Ms: p50Ms!, p90Ms: p90Ms!, p99Ms: p99Ms!, maxMs: row.max as number };
    },
  };
}
