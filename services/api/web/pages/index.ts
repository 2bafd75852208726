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
import { updatesPage } from './updates.js';

export const pages: readonly Page[] = [
  statusPage,
  sessionsPage,
  sessionDetailPage,
  chainPage,
  usersPage,
  auditPage,
  emergencyPage,
  approvalsPage,
  updatesPage,
  loginPage,
  anchorPage,
];
