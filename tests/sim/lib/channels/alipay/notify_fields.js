'use strict';
// The fields of an Alipay async notify (trade_status_sync) for one sim trade, before signing.

const { beijingTime, digits } = require('./clock');

const PAYMENT_FIELDS = ['gmt_payment', 'fund_bill_list', 'receipt_amount', 'buyer_pay_amount', 'invoice_amount'];

// overrides: {field: value} replaces fields (null removes one).
function notifyFields(o, appId, tradeStatus, overrides) {
  const now = Date.now();
  const p = {
    gmt_create: o.gmt_create,
    charset: 'utf-8',
    seller_email: 'sim-merchant@sandbox.example',
    subject: o.subject,
    buyer_id: '2088102177846880',
    invoice_amount: o.total_amount,
    notify_id: `${beijingTime(now).replace(/\D/g, '')}${digits(22)}`,
    fund_bill_list: JSON.stringify([{ amount: o.total_amount, fundChannel: 'ALIPAYACCOUNT' }]),
    notify_type: 'trade_status_sync',
    trade_status: tradeStatus,
    receipt_amount: o.total_amount,
    app_id: o.app_id || appId,
    buyer_pay_amount: o.total_amount,
    seller_id: '2088102177296610',
    gmt_payment: beijingTime(o.paid_at || now),
    notify_time: beijingTime(now),
    version: '1.0',
    out_trade_no: o.out_trade_no,
    total_amount: o.total_amount,
    trade_no: o.trade_no,
    auth_app_id: o.app_id || appId,
    buyer_logon_id: 'csq***@sandbox.com',
    point_amount: '0.00',
  };
  if (tradeStatus === 'TRADE_CLOSED' || tradeStatus === 'WAIT_BUYER_PAY') {
    for (const f of PAYMENT_FIELDS) delete p[f];
  }
  if (tradeStatus === 'TRADE_CLOSED') p.gmt_close = beijingTime(now);
  for (const [k, v] of Object.entries(overrides || {})) {
    if (v === null) delete p[k];
    else p[k] = String(v);
  }
  return p;
}

module.exports = { notifyFields };
