// Read-side statistics in SQLite: delivery status views and counts, attempt series, queue gauges and endpoint latency.
import { idLowerBound } from '../retention.js';
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
  statusNeedsNow,
  statusTextCondition,
  statusTextSql,
} from '../delivery-status.js';
import { pageQuery, timeRange } from '../paging.js';
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
import type { StatsOps } from '../concerns.js';
import type { Row, SqliteDb } from './db.js';

export function sqliteStats(db: SqliteDb): StatsOps {
  return {
    // ---- Delivery status views

    async listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>> {
      const params: unknown[] = [nowMs, appId];
      const clauses = ['d.app_id = ?'];
      if (filter.status) {
        clauses.push(statusTextCondition('d', filter.status, '?'));
        if (statusNeedsNow(filter.status)) params.push(nowMs);
      }
      if (filter.endpointId) {
        clauses.push('d.endpoint_id = ?');
        params.push(filter.endpointId);
      }
      if (filter.eventTypes && filter.eventTypes.length > 0) {
        clauses.push('m.event_type IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(filter.eventTypes));
      }
      timeRange(clauses, params, filter, () => '?', 'm.created_at');
      return db.paged(
        `${deliveryListSelect('?')} WHERE ${clauses.join(' AND ')}`,
        params,
        'd.id',
        pageQuery(page, 'descending'),
        deliveryListItemFromRow,
        (item) => item.delivery.id,
      );
    },

    async listEndpointMessages(appId: string, endpointId: string, filter: EndpointMessageFilter, page: PageRequest, nowMs: number): Promise<Page<EndpointMessage>> {
      const params: unknown[] = [nowMs, endpointId, appId];
      const clauses = ['d.endpoint_id = ?', 'd.app_id = ?'];
      if (filter.status) {
        clauses.push(statusTextCondition('d', filter.status, '?'));
        if (statusNeedsNow(filter.status)) params.push(nowMs);
      }
      if (filter.channel) {
        clauses.push('EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?)');
        params.push(filter.channel);
      }
      if (filter.tag) {
        clauses.push('EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)');
        params.push(filter.tag);
      }
      if (filter.eventTypes && filter.eventTypes.length > 0) {
        clauses.push('m.event_type IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(filter.eventTypes));
      }
      timeRange(clauses, params, filter, () => '?', 'm.created_at');
      return db.paged(
        `${endpointMessageSelect('?')} WHERE ${clauses.join(' AND ')}`,
        params,
        // By message id, as Svix pages this list (its iterators are message ids): a message has at most one delivery
        // to an endpoint. The index delivery_endpoint_message walks the endpoint's deliveries in that order.
        'd.message_id',
        pageQuery(page, 'descending'),
        endpointMessageFromRow,
        (item) => item.message.id,
      );
    },

    async countMessageDeliveries(messageIds: string[], nowMs: number): Promise<Map<string, DeliveryCounts>> {
      if (messageIds.length === 0) return new Map();
      const rows = db.stmt(`
        SELECT d.message_id, ${statusTextSql('d', '?')} AS s, count(*) AS n FROM delivery d
        WHERE d.message_id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2`).all(nowMs, JSON.stringify(messageIds)) as Row[];
      return countsByMessage(rows);
    },

    async endpointStats(endpointId: string, range: { sinceMs?: number | undefined; untilMs?: number | undefined }, nowMs: number): Promise<DeliveryCounts> {
      const clauses = ['d.endpoint_id = ?'];
      const params: unknown[] = [nowMs, endpointId];
      if (range.sinceMs !== undefined) {
        // A delivery's id is never older than its message: the range starts where the index does, not at the
        // endpoint's first delivery ever.
        clauses.push('d.id >= ?', 'm.created_at >= ?');
        params.push(idLowerBound('dlv', range.sinceMs), range.sinceMs);
      }
      if (range.untilMs !== undefined) {
        clauses.push('m.created_at < ?');
        params.push(range.untilMs);
      }
      const rows = db.stmt(`
        SELECT ${statusTextSql('d', '?')} AS s, count(*) AS n FROM delivery d JOIN message m ON m.id = d.message_id
        WHERE ${clauses.join(' AND ')} GROUP BY 1`).all(...params) as Row[];
      return countsFromRows(rows);
    },

    async attemptSeries(appId: string, query: AttemptSeriesQuery): Promise<AttemptBucket[]> {
      const params: unknown[] = [query.sinceMs, query.bucketMs, appId, query.sinceMs, query.untilMs];
      let sql = 'SELECT CAST((created_at - ?) / ? AS INTEGER) AS bucket, status, count(*) AS n FROM attempt WHERE app_id = ? AND created_at >= ? AND created_at < ?';
      if (query.endpointId) {
        sql += ' AND endpoint_id = ?';
        params.push(query.endpointId);
      }
      return bucketsFromRows(db.stmt(`${sql} GROUP BY 1, 2`).all(...params) as Row[], query.sinceMs, query.bucketMs);
    },

    // ---- Observability: metrics gauges and endpoint latency stats.

    async queueStats(nowMs: number): Promise<QueueStats> {
      return queueStatsFromRow(db.stmt(queueStatsSql('$now')).get({ now: nowMs }) as Row);
    },

    async endpointLatency(appId: string, endpointId: string, range: { sinceMs: number; untilMs: number }): Promise<EndpointLatency> {
      const window = 'FROM attempt WHERE app_id = ? AND created_at >= ? AND created_at < ? AND endpoint_id = ?';
      const params = [appId, range.sinceMs, range.untilMs, endpointId];
      // Both reads run back to back on the one connection, with no await between them: they see the same rows.
      const totals = db.stmt(`SELECT count(*) AS n, coalesce(sum(status = 'success'), 0) AS ok, max(response_duration_ms) AS max ${window}`).get(...params) as Row;
      const attempts = totals.n as number;
      const succeeded = totals.ok as number;
      if (attempts === 0) return { attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
      const ranks = LATENCY_PERCENTILES.map((p) => nearestRank(p, attempts));
      const byRank = new Map<number, number>();
      const rows = db.stmt(`
        SELECT rn, d FROM (SELECT response_duration_ms AS d, row_number() OVER (ORDER BY response_duration_ms) AS rn ${window})
        WHERE rn IN (?, ?, ?)`).all(...params, ...ranks) as Row[];
      for (const r of rows) byRank.set(r.rn as number, r.d as number);
      const at = (i: number): number => byRank.get(ranks[i]!)!;
      return { attempts, succeeded, failed: attempts - succeeded, p50Ms: at(0), p90Ms: at(1), p99Ms: at(2), maxMs: totals.max as number };
    },
  };
}

// ---- Observability

/** The percentiles endpointLatency reports, in order (p50, p90, p99). */
const LATENCY_PERCENTILES = [0.5, 0.9, 0.99] as const;

/** The 1-based rank of percentile p among n sorted values, as PostgreSQL's percentile_disc computes it. */
function nearestRank(p: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(p * n)));
}
