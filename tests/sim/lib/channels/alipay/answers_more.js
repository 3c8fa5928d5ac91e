'use strict';
// Alipay's business answers for the ops beyond precreate/query/close/cancel: barcode pay
// (alipay.trade.pay), refund, refund query, bill download URL, fund transfer + its query,
// with the sim state they change. Codes as documented: trade.pay
// https://opendocs.alipay.com/open/02ekfp (10003 = waiting for the buyer), refund /open/02ekfk
// (fund_change), fastpay.refund.query /open/02ekfl (refund_status), bill /open/02e7gr
// (isp.bill_not_exist), uni.transfer /open/02byuo and common.query /open/02byup (status).

const { beijingTime } = require('./clock');

const e = (code, msg, subCode, subMsg, extra = {}) => ({ code, msg, sub_code: subCode, sub_msg: subMsg, ...extra });
const BF = 'Business Failed';
const BUSY = e('20000', 'Service Currently Unavailable', 'isp.unknow-error', '系统繁忙');
const UNKNOWN = e('40004', BF, 'ACQ.SOMETHING_NEW', '一个没有人认识的新错误码');
const NOT_EXIST = e('40004', BF, 'ACQ.TRADE_NOT_EXIST', '交易不存在');

function barcodePay(kind, otn, t) {
  if (kind === 'fail') return e('40004', BF, 'ACQ.PAYMENT_AUTH_CODE_INVALID', '支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款');
  if (kind === 'not_found') return NOT_EXIST;
  if (kind === 'unknown') return UNKNOWN;
  if (!t) return BUSY;
  const base = { out_trade_no: otn, trade_no: t.trade_no, buyer_logon_id: '159****5620', total_amount: t.total_amount };
  if (kind === 'processing' || t.state !== 'TRADE_SUCCESS') {
    return { code: '10003', msg: 'order success pay inprocess', ...base };
  }
  return { code: '10000', msg: 'Success', ...base, receipt_amount: t.total_amount, buyer_pay_amount: t.total_amount,
    invoice_amount: t.total_amount, gmt_payment: beijingTime(t.paid_at), fund_bill_list: [{ amount: t.total_amount, fund_channel: 'ALIPAYACCOUNT' }] };
}

// r: the sim refund record (orders entry keyed by out_request_no) or undefined
function refund(kind, biz, t, r) {
  if (kind === 'fail') return e('40004', BF, 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  if (kind === 'not_found' || !t) return NOT_EXIST;
  if (kind === 'unknown') return UNKNOWN;
  if (!r) return e('40004', BF, 'ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  if (r.refund_amount !== String(biz.refund_amount)) return e('40004', BF, 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额与退款请求号对应的金额不一致');
  return { code: '10000', msg: 'Success', out_trade_no: t.out_trade_no, trade_no: t.trade_no, buyer_logon_id: '159****5620',
    fund_change: r.state === 'REFUND_SUCCESS' ? 'Y' : 'N', refund_fee: r.refunded_total, gmt_refund_pay: r.gmt_refund || undefined };
}

function refundQuery(kind, otn, t, r) {
  if (kind === 'not_found') return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: t ? t.trade_no : undefined };
  if (kind === 'fail') return e('40004', BF, 'ACQ.INVALID_PARAMETER', '参数无效');
  if (kind === 'unknown') return UNKNOWN;
  if (!t) return NOT_EXIST;
  if (!r) return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: t.trade_no };
  const v = { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: t.trade_no, out_request_no: r.out_request_no,
    total_amount: t.total_amount, refund_amount: r.refund_amount };
  if (kind === 'processing' || r.state !== 'REFUND_SUCCESS') return v;
  return { ...v, refund_status: 'REFUND_SUCCESS', gmt_refund_pay: r.gmt_refund };
}

function bill(kind, url) {
  if (kind === 'not_found') return e('40004', BF, 'isp.bill_not_exist', '账单不存在');
  if (kind === 'fail') return e('40004', BF, 'isv.invalid-arguments', '参数无效');
  if (kind === 'unknown') return UNKNOWN;
  if (kind === 'processing') return BUSY;
  return { code: '10000', msg: 'Success', bill_download_url: url };
}

// x: the sim transfer record (orders entry keyed by out_biz_no)
function transfer(op, kind, biz, x) {
  if (kind === 'unknown') return e('40004', BF, 'SOMETHING_NEW', '一个没有人认识的新错误码');
  if (op === 'payout') {
    if (kind === 'fail') return e('40004', BF, 'PAYEE_NOT_EXIST', '收款账号不存在');
    if (kind === 'not_found') return e('40004', BF, 'PAYEE_USER_INFO_ERROR', '支付宝账号和姓名不匹配');
    if (!x) return BUSY;
    return { code: '10000', msg: 'Success', out_biz_no: x.out_biz_no, order_id: x.order_id, pay_fund_order_id: x.pay_fund_order_id,
      status: kind === 'processing' ? 'DEALING' : x.state, trans_date: x.trans_date };
  }
  if (kind === 'not_found' || !x) return e('40004', BF, 'ORDER_NOT_EXIST', '转账订单不存在');
  const v = { code: '10000', msg: 'Success', out_biz_no: x.out_biz_no, order_id: x.order_id, pay_fund_order_id: x.pay_fund_order_id,
    status: x.state, trans_amount: x.trans_amount, pay_date: x.trans_date, order_fee: '0.00' };
  if (kind === 'fail') return { ...v, status: 'FAIL', fail_reason: 'PAYEE_ACCOUNT_STATUS_ERROR', error_code: 'PAYEE_ACCOUNT_STATUS_ERROR' };
  if (kind === 'processing') return { ...v, status: 'DEALING' };
  return v;
}

module.exports = { barcodePay, refund, refundQuery, bill, transfer, BUSY };
