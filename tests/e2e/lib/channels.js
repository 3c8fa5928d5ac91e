'use strict';
// Per-channel knowledge the e2e stack needs to run every channel pack against the
// simulator (tests/sim) behind nginx + paygwd: the key files each side reads, the
// paygwd.conf params, the sim endpoint, the sim's --set options, and what a caller's
// server-side payment looks like on that channel (method, currency, extra).
//
// Factored from the pack kit's tests (tests/packs/<channel>.test.js): the same key file
// names and params, so a pack that passes its conformance test is configured the same way
// here. Alipay is configured by lib/stack.js itself (its keys live at the sim's key root).
//
//   const { PROFILES, CHANNELS } = require('./channels');
//   PROFILES.stripe.keys({ simDir, simRoot, keystore });   // write both sides' key files
//   PROFILES.stripe.params({ publicUrl })                   // channel stripe param k v
//   PROFILES.stripe.endpoint(simBase)                       // channel stripe endpoint URL
//   PROFILES.stripe.simSet({ publicUrl })                    // sim --set stripe.<k>=<v>
//
// Profile fields used by the scenario suite (tests/e2e/channels.test.js):
//   method, currency, amount, extra   the caller's POST /v1/payments fields
//   kind        'prepay' (pay SUCCESS = the credential exists, order stays PROCESSING) or
//               'direct' (pay SUCCESS is the payment's outcome)
//   payOp       the sim's script op for the pay call ('precreate' for alipay)
//   query       false when the channel has no query API (Adyen)
//   signedAnswers  false when the channel signs no API answer
//   failBehaviour  the sim behaviour whose pay answer is a definite failure
//   hintNotify  true when the channel's webhook is an unsigned hint (Mollie)
//   notifyFromOrder  true when the sim must notify the URL the pack put in the request
//   queryNeedsId  true when the query cannot be built before the channel's id is known
//   notifyValid   extra /_sim/notify fields for a genuine "paid" notification
//   contraryFinal false when the sim's contrary notification is not a final result by the
//               pack's lists (so it is evidence of nothing and opens no discrepancy)

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');

const CHANNELS = ['alipay', 'wechatpay_v2', 'wechatpay_v3', 'unionpay_acp', 'stripe', 'paypal',
  'adyen', 'razorpay', 'square', 'checkout', 'mollie', 'paytm'];

const rnd = (n) => crypto.randomBytes(n).toString('hex');
const UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const rndUp = (n) => Array.from(crypto.randomBytes(n), (x) => UP[x % UP.length]).join('');
const pem = (key, type) => key.export({ type, format: 'pem' });
const w = (dir, f, text) => fs.writeFileSync(path.join(dir, f), text, { mode: 0o600 });
const notifyUrl = (publicUrl, ch) => `${publicUrl}/notify/${ch}`;

// Secrets are made once per process (one stack per test file).
const S = {
  wx2ApiKey: rnd(16),
  wx3Apiv3: rnd(16),
  wx3MerchantSerial: rnd(20).toUpperCase(),
  wx3PlatformSerial: `PUB_KEY_ID_0112${crypto.randomInt(1e9)}`,
  stripeKey: `sk_test_${rnd(12)}`,
  stripeWhsec: `whsec_${rnd(16)}`,
  paypalClientId: `A${rndUp(30)}`,
  paypalSecret: `E${rndUp(30)}`,
  paypalWebhookId: rndUp(17),
  paypalCertUrl: `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-${rndUp(8).toLowerCase()}`,
  adyenKey: `AQE_test_${rnd(12)}`,
  adyenHmac: rnd(32).toUpperCase(),
  rzpKeyId: `rzp_test_${rnd(6)}`,
  rzpSecret: crypto.randomBytes(18).toString('base64url'),
  rzpWebhook: rnd(16),
  squareToken: `EAAAtest${rnd(16)}`,
  squareSigKey: crypto.randomBytes(16).toString('base64url'),
  ckoSecret: `sk_sbox_${rnd(14)}`,
  ckoWhsec: rnd(24),
  mollieKey: `test_${rndUp(30)}`,
  paytmKey: crypto.randomBytes(12).toString('base64'), // 16 chars
};
const PAYTM_MID = 'PAYGWT00000000000001';
const UNIONPAY_MER = '777290058110048';

const PROFILES = {
  alipay: {
    method: 'alipay.qr', currency: 'CNY', amount: 1000, kind: 'prepay', payOp: 'precreate',
    // keys, params and endpoint: lib/stack.js (the harness's original channel)
  },

  wechatpay_v2: {
    method: 'wechat.native', currency: 'CNY', amount: 1000, kind: 'prepay',
    keys({ simDir, keystore }) {
      w(simDir, 'api_key.txt', `${S.wx2ApiKey}\n`);
      w(keystore, 'wx_api_key.secret', `${S.wx2ApiKey}\n`);
    },
    params: () => ({ appid: 'wxd930ea5d5a258f4f', mch_id: '10000100', api_key: 'wx_api_key', sign_type: 'MD5', spbill_create_ip: '127.0.0.1' }),
    notifyFromOrder: true,
    // the sim's contrary pay notify is result_code=FAIL (err_code PAYERROR); WeChat's
    // notify document does not define FAIL as a final outcome of the payment, so the pack
    // lists it as in-progress (scripts/wechatpay_v2.lua codes.notify): it is evidence,
    // not a contrary final result — the order stays SUCCESS and nothing is opened
    contraryFinal: false,
  },

  wechatpay_v3: {
    method: 'wechat.native', currency: 'CNY', amount: 1000, kind: 'prepay',
    keys({ simDir, keystore }) {
      const platform = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const merchant = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      w(simDir, 'platform_private.pem', pem(platform.privateKey, 'pkcs8'));
      w(simDir, 'platform_public.pem', pem(platform.publicKey, 'spki'));
      w(simDir, 'merchant_private.pem', pem(merchant.privateKey, 'pkcs8'));
      w(simDir, 'merchant_public.pem', pem(merchant.publicKey, 'spki'));
      w(simDir, 'platform_serial.txt', `${S.wx3PlatformSerial}\n`);
      w(simDir, 'merchant_serial.txt', `${S.wx3MerchantSerial}\n`);
      w(simDir, 'apiv3_key.txt', `${S.wx3Apiv3}\n`);
      w(keystore, 'wx3_merchant_private.pem', pem(merchant.privateKey, 'pkcs8'));
      w(keystore, 'wx3_platform_public.pem', pem(platform.publicKey, 'spki'));
      w(keystore, 'wx3_apiv3.secret', `${S.wx3Apiv3}\n`);
    },
    params: () => ({
      mchid: '1230000109', appid: 'wxd678efh567hg6787', app_appid: 'wx8888888888888888',
      merchant_private_key: 'wx3_merchant_private', merchant_serial_no: S.wx3MerchantSerial,
      platform_cert: 'wx3_platform_public', platform_serial: S.wx3PlatformSerial, api_v3_key: 'wx3_apiv3',
    }),
    notifyFromOrder: true,
  },

  unionpay_acp: {
    // unionpay.back (backTransReq consume) is the server-side method: unionpay.web / .wap
    // are local credentials (a form the buyer's browser posts), never sent by paygwd.
    // Its "00" is "accepted only" (PROCESSING): the query or the notify settles it.
    method: 'unionpay.back', currency: 'CNY', amount: 1000, kind: 'direct',
    extra: { token_pay_data: '{token=6235240000020757328&trId=62000000001}' },
    keys({ simDir, keystore }) {
      // the sim's own generator writes the merchant pair, its certificate and UnionPay's
      // signing certificate; paygwd's keystore gets copies under the pack's names
      const { loadKeys } = require('../../sim/lib/channels/unionpay_acp/keys');
      loadKeys(simDir);
      const cp = (from, to) => fs.copyFileSync(path.join(simDir, from), path.join(keystore, to));
      cp('merchant_private.pem', 'up_sign.pem');
      cp('merchant_cert.pem', 'up_sign_cert.pem');
      cp('platform_cert.pem', 'up_verify.pem');
      // UnionPay's root and middle certificates: the signPubKeyCert of answers and notifies
      // must chain to them (verify_cert is the fallback for messages without one)
      cp('root_cert.pem', 'up_root.pem');
      cp('middle_cert.pem', 'up_middle.pem');
      w(keystore, 'up_secure.secret', fs.readFileSync(path.join(simDir, 'secure_key.txt'), 'utf8').trim());
    },
    params: () => ({ mer_id: UNIONPAY_MER, sign_key: 'up_sign', sign_cert: 'up_sign_cert', verify_cert: 'up_verify', root_cert: 'up_root', middle_cert: 'up_middle', secure_key: 'up_secure' }),
    notifyFromOrder: true,
  },

  stripe: {
    method: 'stripe.card', currency: 'USD', amount: 1000, kind: 'direct',
    extra: { payment_method: 'pm_card_visa' },
    // the sim's `fail` is a 402 decline that leaves a reusable intent (PROCESSING by the
    // pack's rule); the definite failure is a 402 carrying a canceled intent
    failBehaviour: 'fail_canceled',
    signedAnswers: false,
    keys({ simDir, keystore }) {
      w(simDir, 'api_key.txt', S.stripeKey);
      w(simDir, 'webhook_secret.txt', S.stripeWhsec);
      w(keystore, 'stripe_api_key.secret', `${S.stripeKey}\n`);
      w(keystore, 'stripe_whsec.secret', `${S.stripeWhsec}\n`);
    },
    params: () => ({ api_key: 'stripe_api_key', webhook_secret: 'stripe_whsec' }),
    endpoint: (b) => `${b}/stripe`,
    simSet: ({ publicUrl }) => ({ notify_url: notifyUrl(publicUrl, 'stripe') }),
  },

  paypal: {
    method: 'paypal.checkout', currency: 'USD', amount: 1000, kind: 'prepay',
    signedAnswers: false,
    queryNeedsId: true,
    keys({ simDir, keystore }) {
      w(simDir, 'client_id.txt', S.paypalClientId);
      w(simDir, 'client_secret.txt', S.paypalSecret);
      w(simDir, 'webhook_id.txt', S.paypalWebhookId);
      w(simDir, 'cert_url.txt', S.paypalCertUrl);
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      w(simDir, 'webhook_private.pem', pem(privateKey, 'pkcs8'));
      execFileSync('openssl', ['req', '-x509', '-key', path.join(simDir, 'webhook_private.pem'), '-days', '2',
        '-subj', '/CN=messageverificationcerts.sandbox.paypal.com', '-out', path.join(simDir, 'webhook_cert.pem')], { stdio: 'ignore' });
      fs.copyFileSync(path.join(simDir, 'webhook_cert.pem'), path.join(keystore, 'paypal_webhook_cert.pem'));
      w(keystore, 'paypal_client_secret.secret', `${S.paypalSecret}\n`);
    },
    params: () => ({
      client_id: S.paypalClientId, client_secret: 'paypal_client_secret', webhook_id: S.paypalWebhookId,
      webhook_cert: 'paypal_webhook_cert', webhook_cert_url: S.paypalCertUrl,
      return_url: 'https://shop.example/return', cancel_url: 'https://shop.example/cancel',
    }),
    endpoint: (b) => `${b}/paypal`,
    simSet: ({ publicUrl }) => ({ webhook_url: notifyUrl(publicUrl, 'paypal') }),
  },

  adyen: {
    method: 'adyen.card', currency: 'EUR', amount: 1000, kind: 'direct',
    extra: { payment_method: { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' } },
    query: false,          // Adyen has no payment-status API: webhooks settle (docs/channels/adyen.md)
    signedAnswers: false,
    keys({ simDir, keystore }) {
      w(simDir, 'api_key.txt', S.adyenKey);
      w(simDir, 'hmac_key.txt', S.adyenHmac);
      w(keystore, 'adyen_api_key.secret', `${S.adyenKey}\n`);
      w(keystore, 'adyen_hmac.secret', `${S.adyenHmac}\n`);
    },
    params: () => ({ merchant_account: 'TestMerchant', api_key: 'adyen_api_key', hmac_key: 'adyen_hmac' }),
    endpoint: (b) => `${b}/adyen/v71`,
    simSet: ({ publicUrl }) => ({ notify_url: notifyUrl(publicUrl, 'adyen') }),
  },

  razorpay: {
    method: 'razorpay.checkout', currency: 'INR', amount: 50000, kind: 'prepay',
    signedAnswers: false,
    keys({ simDir, keystore }) {
      w(simDir, 'key_id.txt', S.rzpKeyId);
      w(simDir, 'key_secret.txt', S.rzpSecret);
      w(simDir, 'webhook_secret.txt', S.rzpWebhook);
      w(keystore, 'rzp_key_secret.secret', `${S.rzpSecret}\n`);
      w(keystore, 'rzp_webhook.secret', `${S.rzpWebhook}\n`);
    },
    params: () => ({ key_id: S.rzpKeyId, key_secret: 'rzp_key_secret', webhook_secret: 'rzp_webhook' }),
    // the sim's default event follows its order state (payment.failed while unpaid)
    notifyValid: { event: 'payment.captured' },
    // contrary after a capture = payment.failed: one failed attempt, PROCESSING by the
    // pack's list (the buyer may retry on the same order) — not a contrary final result
    contraryFinal: false,
    endpoint: (b) => `${b}/razorpay/v1`,
    simSet: ({ publicUrl }) => ({ notify_url: notifyUrl(publicUrl, 'razorpay') }),
  },

  square: {
    method: 'square.card', currency: 'USD', amount: 1000, kind: 'direct',
    extra: { payment_method: 'cnon:card-nonce-ok' },
    signedAnswers: false,
    keys({ simDir, keystore }) {
      w(simDir, 'access_token.txt', S.squareToken);
      w(simDir, 'signature_key.txt', S.squareSigKey);
      w(keystore, 'square_token.secret', `${S.squareToken}\n`);
      w(keystore, 'square_sigkey.secret', `${S.squareSigKey}\n`);
    },
    // Square signs the subscription URL: the pack must know the exact one
    params: ({ publicUrl }) => ({
      access_token: 'square_token', location_id: 'L88917AVBK2S5', webhook_signature_key: 'square_sigkey',
      notification_url: notifyUrl(publicUrl, 'square'),
    }),
    endpoint: (b) => `${b}/square`,
    simSet: ({ publicUrl }) => ({ notification_url: notifyUrl(publicUrl, 'square') }),
  },

  checkout: {
    method: 'checkout.card', currency: 'EUR', amount: 1000, kind: 'direct',
    extra: { payment_method: 'tok_4gzeau5o2uqubbk6fufs3m7p54' },
    signedAnswers: false,
    keys({ simDir, keystore }) {
      w(simDir, 'secret_key.txt', S.ckoSecret);
      w(simDir, 'webhook_secret.txt', S.ckoWhsec);
      w(keystore, 'cko_secret.secret', `${S.ckoSecret}\n`);
      w(keystore, 'cko_whsec.secret', `${S.ckoWhsec}\n`);
    },
    params: () => ({ secret_key: 'cko_secret', webhook_secret: 'cko_whsec', processing_channel_id: 'pc_conformance' }),
    endpoint: (b) => `${b}/checkout`,
  },

  mollie: {
    method: 'mollie.checkout', currency: 'EUR', amount: 1000, kind: 'prepay',
    signedAnswers: false,
    hintNotify: true,
    // a hint is never applied: the query that follows reads the sim truth, which a
    // contrary hint does not change — nothing contrary ever reaches the order
    contraryFinal: false,
    notifyFromOrder: true,   // webhookUrl = notify_url?ref=<out_trade_no>, kept by the sim
    queryNeedsId: true,
    keys({ simDir, keystore }) {
      w(simDir, 'api_key.txt', `${S.mollieKey}\n`);
      w(keystore, 'mollie_api_key.secret', `${S.mollieKey}\n`);
    },
    params: () => ({ api_key: 'mollie_api_key', redirect_url: 'https://shop.example/return' }),
    endpoint: (b) => `${b}/mollie/v2`,
  },

  paytm: {
    method: 'paytm.checkout', currency: 'INR', amount: 1000, kind: 'prepay',
    keys({ simDir, keystore }) {
      w(simDir, 'merchant_key.txt', S.paytmKey);
      w(keystore, 'paytm_key.secret', S.paytmKey);
    },
    params: () => ({ mid: PAYTM_MID, merchant_key: 'paytm_key', website: 'WEBSTAGING' }),
    simSet: () => ({ mid: PAYTM_MID }),
    notifyFromOrder: true,
  },
};

for (const [name, p] of Object.entries(PROFILES)) {
  p.name = name;
  p.payOp = p.payOp || 'pay';
  if (p.query === undefined) p.query = true;
  if (p.signedAnswers === undefined) p.signedAnswers = true;
  p.failBehaviour = p.failBehaviour || 'fail';
  p.endpoint = p.endpoint || ((b) => `${b}/${name}`);
  p.simSet = p.simSet || (() => ({}));
  p.notifyValid = p.notifyValid || {};
  if (p.contraryFinal === undefined) p.contraryFinal = true;
  p.params = p.params || (() => ({}));
}

// The paygwd.conf lines and sim --set arguments of the non-alipay channels, after their
// key files are written. o: {names, simKeysRoot, keystore, simBase, publicUrl, conf:{k:v}}
function writeChannelKeys(names, { simKeysRoot, keystore }) {
  for (const name of names) {
    if (name === 'alipay') continue;
    const p = PROFILES[name];
    if (!p) throw new Error(`lib/channels: unknown channel ${name} (known: ${CHANNELS.join(', ')})`);
    const simDir = path.join(simKeysRoot, name);
    fs.mkdirSync(simDir, { recursive: true, mode: 0o755 });
    p.keys({ simDir, simRoot: simKeysRoot, keystore });
  }
}

function simArgs(names, { publicUrl }) {
  const out = [];
  for (const name of names) {
    if (name === 'alipay') continue;
    for (const [k, v] of Object.entries(PROFILES[name].simSet({ publicUrl }))) out.push('--set', `${name}.${k}=${v}`);
  }
  return out;
}

function confLines(names, { simBase, publicUrl, conf = {} }) {
  const lines = [];
  for (const name of names) {
    if (name === 'alipay') continue;
    const p = PROFILES[name];
    lines.push(`channel ${name} endpoint ${p.endpoint(simBase)}`);
    for (const [k, v] of Object.entries(conf)) lines.push(`channel ${name} ${k} ${v}`);
    for (const [k, v] of Object.entries(p.params({ publicUrl }))) lines.push(`channel ${name} param ${k} ${v}`);
  }
  return lines;
}

module.exports = { CHANNELS, PROFILES, writeChannelKeys, simArgs, confLines, notifyUrl };
