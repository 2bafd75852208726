// The page registry: the router matches paths in this order, the nav bar lists the pages in this
// order, and the first one is the start page. Adding a page = one file in pages/ + one line here
// (see ../README.md).
import type { Page } from '../page.js';
import { statusPage } from './status.js';
import { sessionsPage } from './sessions.js';
import { sessionDetailPage } from './session-detail.js';
import { chainPage, anchorPage } from './chain.js';
import { loginPage } from './login.js';
import { usersPage } from './users.js';
import { auditPage } from './audit.js';
import { emergencyPage } from './emergency.js';
import { approvalsPage } from './approvals.js';
import { lazyPage } from '../lazy.js';

export const pages: readonly Page[] = [
  statusPage,
  sessionsPage,
  sessionDetailPage,
  chainPage,
  // Loaded on demand from dist/web/payouts.js (pages/payouts-entry.ts).
  lazyPage({ path: '/payouts', title: 'Payouts', role: 'admin' }, 'payouts.js', 'payoutsPage'),
  lazyPage({ path: '/earnings', title: 'Earnings', role: 'node_operator' }, 'payouts.js', 'earningsPage'),
  usersPage,
  auditPage,
  emergencyPage,
  approvalsPage,
  // Loaded on demand from dist/web/updates.js (pages/updates-entry.ts).
  lazyPage({ path: '/updates', title: 'Updates', role: 'user' }, 'updates.js', 'updatesPage'),
  loginPage,
  anchorPage,
  lazyPage({ path: '/earnings/:operator', title: 'Earnings', nav: false, role: 'node_operator' }, 'payouts.js', 'operatorEarningsPage'),
];
