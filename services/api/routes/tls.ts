// The certificate the appliance serves, for a person to check and install: public, since anyone
// who connects receives the certificate anyway.
//   GET /api/v1/tls              its fingerprints, names, validity and whether it is the user's own
//   GET /api/v1/tls/certificate  the certificate (PEM) to install on a laptop or phone
import type { FastifyPluginAsync } from 'fastify';
import * as Type from '../../common/schema.js';
import type { TlsPort } from '../deps.js';

export const TlsInfoSchema = Type.Object({
  source: Type.Union([Type.Literal('appliance'), Type.Literal('user')], { description: '`appliance`: its own self-signed certificate; `user`: LUCID_TLS_CERT' }),
  certificateSha256: Type.String({ description: 'SHA-256 of the certificate, as browsers show it (AB:CD:…)' }),
  publicKeySha256: Type.String({ description: 'SHA-256 of the public key (SPKI); unchanged when the certificate is re-issued' }),
  spkiSha256Base64: Type.String({ description: 'The same, base64 (a pin)' }),
  names: Type.Array(Type.String()),
  subject: Type.String(),
  validFrom: Type.String(),
  validTo: Type.String(),
  httpsPort: Type.Integer(),
});

export const tlsRoutes = (tls: TlsPort): FastifyPluginAsync => async (app) => {
  app.get('/api/v1/tls', {
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'The HTTPS certificate: fingerprints to compare with the browser', response: { 200: TlsInfoSchema } },
  }, async () => ({ ...tls.info(), httpsPort: tls.httpsPort }));

  app.get('/api/v1/tls/certificate', {
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'The HTTPS certificate (PEM), to install on a laptop or phone', produces: ['application/x-x509-ca-cert'] },
  }, async (_request, reply) => {
    const name = (tls.info().names[0] ?? 'appliance').replace(/[^A-Za-z0-9.-]/g, '_');
    return reply
      .type('application/x-x509-ca-cert')
      .header('content-disposition', `attachment; filename="lucid-${name}.crt"`)
      .send(tls.certificatePem());
  });
};
