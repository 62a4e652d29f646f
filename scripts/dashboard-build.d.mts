export declare const DASHBOARD_SOURCE: string;
export declare const DASHBOARD_BUNDLE: string;
export declare function dashboardBuildReason(): string | null;
export declare function ensureDashboardBuilt(options?: { log?: (line: string) => void }): boolean;
