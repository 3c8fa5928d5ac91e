'use strict';
// Alipay-side cryptography for the Alipay plugin, built on the official alipay-sdk.
//
// What comes from the SDK (alipay-sdk@4.14.0, package "alipay-sdk"):
//  - request verification: AlipaySdk#notifyRSACheck (TypeScript-private, a plain method at
//    run time) builds the sorted `k=v&k=v` string from the parameters and calls
//    AlipaySdk#rsaCheck (SHA256withRSA). The SDK instance used for this holds OUR APP's
//    public key in its `alipayPublicKey` slot, because here the roles are reversed: the
//    simulator is Alipay checking the merchant.
//  - notify sign-string construction: the same notifyRSACheck over the notify parameters
//    minus `sign` and `sign_type` (exactly what checkNotifySignV2's second pass verifies);
//    the string is captured from rsaCheck.
//  - response sign-string extraction: AlipaySdk#getSignStr, and every produced response is
//    checked with AlipaySdk#checkResponseSign; every produced notify with
//    AlipaySdk#checkNotifySignV2 (both with the Alipay public key, as a merchant would).
// What is NOT in the SDK and is done with node:crypto here: producing an RSA2 signature
// as Alipay (the SDK only signs requests with the merchant key inside `exec`/`sdkExecute`,
// with its own timestamp; its util `sign`/`signatureV3` are not exported by the package).
// The signing step is one crypto.sign('sha256', ...) call, verified right after by the SDK.
//
// Certificate mode (公钥证书模式, `certs` given): the SNs are alipay-sdk's own — an AlipaySdk
// built with appCertContent / alipayPublicCertContent / alipayRootCertContent computes
// config.appCertSn, alipayRootCertSn and alipayCertSn (antcertutil) — requests are checked
// against the first two, answers carry `alipay_cert_sn` = the third between the
// `<method>_response` member and `sign` (as Alipay lays them out), requests are verified
// with the key the SDK reads out of the app certificate and answers self-checked with the
// key it reads out of the Alipay certificate. A second SDK over the rotated certificate
// gives the SN and key of answers after a simulated rotation.

const crypto = require('node:crypto');
const { AlipaySdk } = require('alipay-sdk');
const { privatePem, publicPem } = require('../../keys');

class CapturingSdk extends AlipaySdk {
  rsaCheck(signContent, sign, signType) {
    this.lastSignContent = signContent;
    return super.rsaCheck(signContent, sign, signType);
  }
}

// Alipay escapes '/' as '\/' in its JSON responses (e.g. qr_code "https:\/\/qr.alipay.com\/...").
// Every '/' in JSON.stringify output sits inside a string, so this stays valid JSON.
function alipayJsonText(value) {
  return JSON.stringify(value).replace(/\//g, '\\/');
}

function rsa2Sign(text, keyObject) {
  return crypto.sign('sha256', Buffer.from(text, 'utf8'), keyObject).toString('base64');
}

class AlipaySide {
  constructor({ alipayPrivateKey, appPublicKey, appId, certs = null }) {
    this.appId = appId || '2021000000000001';
    this.alipayKey = alipayPrivateKey;
    this.certMode = Boolean(certs);
    // A key Alipay never had: used for `badsign` responses and `forged` notifies.
    this.forgedKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    // Simulator as Alipay: verifies the merchant's requests with the merchant's app public key.
    this.requestVerifier = new CapturingSdk({
      appId: this.appId,
      privateKey: privatePem(alipayPrivateKey),
      keyType: 'PKCS8',
      alipayPublicKey: publicPem(appPublicKey),
    });
    // The merchant's point of view: the Alipay public key. Used to self-check our output and
    // to build notify sign strings.
    this.merchantView = new CapturingSdk({
      appId: this.appId,
      privateKey: privatePem(alipayPrivateKey),
      keyType: 'PKCS8',
      alipayPublicKey: publicPem(alipayPrivateKey),
    });
    if (certs) this.setupCerts(certs, alipayPrivateKey);
  }

  setupCerts(certs, alipayPrivateKey) {
    const sdk = (alipayCert, appCert = certs.appCert) => new CapturingSdk({
      appId: this.appId,
      privateKey: privatePem(alipayPrivateKey),
      keyType: 'PKCS8',
      appCertContent: appCert,
      alipayPublicCertContent: alipayCert,
      alipayRootCertContent: certs.rootCert,
    });
    // the merchant's view in certificate mode: SNs + the Alipay key from the certificate
    this.merchantView = sdk(certs.alipayCert);
    this.certSdk = this.merchantView;
    // as Alipay: the request key is the one inside the app certificate (the SDK's
    // alipayPublicKey slot is the "other side's" key)
    this.requestVerifier = sdk(certs.appCert);
    this.rotatedSdk = sdk(certs.rotatedCert);
    this.rotatedKey = certs.rotatedKey;
  }

  // Certificate-mode SN checks of a request: null, or {subCode, subMsg} of Alipay's refusal.
  // Sources: isv.app-cert-not-exist "应用公钥证书不存在" (40002, alipay/alipay-sdk-nodejs-all
  // issue 56, a wrong app_cert_sn); invalid-alipay-root-cert-sn "无效支付宝根证书序列号"
  // (yansongda/pay issue 491, a wrong alipay_root_cert_sn).
  certProblem(params) {
    if (!this.certMode) return null;
    const c = this.certSdk.config;
    if (params.app_cert_sn !== c.appCertSn) return { subCode: 'isv.app-cert-not-exist', subMsg: '应用公钥证书不存在' };
    if (params.alipay_root_cert_sn !== c.alipayRootCertSn) {
      return { subCode: 'isv.invalid-alipay-root-cert-sn', subMsg: '无效支付宝根证书序列号' };
    }
    return null;
  }

  // Verify an OpenAPI v2 request the way the Alipay gateway does: every non-empty parameter
  // except `sign` (sign_type included), sorted, joined, SHA256withRSA with the app public key.
  verifyRequest(params) {
    const sign = params.sign;
    if (!sign) return { ok: false, signString: '', reason: 'missing sign' };
    const args = {};
    for (const k of Object.keys(params)) {
      if (k === 'sign') continue;
      // The gateway skips empty values; the SDK's string builder does not, so drop them here.
      if (params[k] === undefined || params[k] === null || params[k] === '') continue;
      args[k] = params[k];
    }
    const v = this.requestVerifier;
    v.lastSignContent = null;
    let ok = false;
    try {
      ok = v.notifyRSACheck(args, sign, 'RSA2', true) === true;
    } catch (e) {
      return { ok: false, signString: v.lastSignContent || '', reason: `verify error: ${e.message}` };
    }
    return { ok, signString: v.lastSignContent || '', reason: ok ? '' : 'signature mismatch' };
  }

  // Build a signed response body exactly as Alipay lays it out.
  // rotated (certificate mode): signed with the rotated certificate's key, carrying its SN.
  signResponse(responseKey, value, { forged = false, rotated = false } = {}) {
    const text = alipayJsonText(value);
    const view = rotated && this.certMode ? this.rotatedSdk : this.merchantView;
    const key = forged ? this.forgedKey : rotated && this.certMode ? this.rotatedKey : this.alipayKey;
    const sign = rsa2Sign(text, key);
    const sn = this.certMode ? `,"alipay_cert_sn":"${view.config.alipayCertSn}"` : '';
    const body = `{"${responseKey}":${text}${sn},"sign":"${sign}"}`;
    const extracted = view.getSignStr(body, responseKey);
    if (extracted !== text) {
      throw new Error(`sim self-check: getSignStr extracted ${JSON.stringify(extracted)} not the signed text`);
    }
    let verified = true;
    try {
      view.checkResponseSign(body, responseKey, sign, 'sim-self-check');
    } catch (_) {
      verified = false;
    }
    if (verified === forged) {
      throw new Error(`sim self-check: checkResponseSign ${verified ? 'accepted a forged' : 'rejected a genuine'} response`);
    }
    return body;
  }

  // The notify sign string as the SDK builds it (params minus sign and sign_type).
  notifySignString(params) {
    const args = {};
    for (const k of Object.keys(params)) {
      if (k === 'sign' || k === 'sign_type') continue;
      args[k] = params[k];
    }
    const v = this.merchantView;
    v.lastSignContent = null;
    v.notifyRSACheck(args, 'AA==', 'RSA2', true);
    if (typeof v.lastSignContent !== 'string') throw new Error('sim: SDK built no notify sign string');
    return v.lastSignContent;
  }

  // Sign notify params (an ordered object of strings). Returns a new object with sign_type
  // and sign, self-checked with checkNotifySignV2.
  signNotify(params, { forged = false } = {}) {
    const out = { ...params, sign_type: 'RSA2' };
    delete out.sign;
    const str = this.notifySignString(out);
    out.sign = rsa2Sign(str, forged ? this.forgedKey : this.alipayKey);
    const ok = this.merchantView.checkNotifySignV2({ ...out });
    if (ok === forged) {
      throw new Error(`sim self-check: checkNotifySignV2 ${ok ? 'accepted a forged' : 'rejected a genuine'} notify`);
    }
    return out;
  }
}

module.exports = { AlipaySide };
