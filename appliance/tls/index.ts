export { TlsIdentity, readUserPair, TLS_CERT_FILE, TLS_KEY_FILE, type TlsLoadResult, type TlsSettings } from './identity.js';
export { issueSelfSigned, ipBytes } from '../../services/common/x509/certificate.js';
export { applianceNames, currentNames, sameNames, canonicalName } from './names.js';
