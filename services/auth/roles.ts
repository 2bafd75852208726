// Roles and permissions come from the API layer (services/api/route-permission.ts), where every
// route declares its permission; auth re-exports them so its own modules have one import.
export { ROLES, roleRank, hasRole, type Role, type Permission, type Principal } from '../api/index.js';
