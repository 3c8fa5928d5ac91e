'use strict';
// Alipay's business answers (the value of "<method>_response") per op and behaviour,
// with the sim trade's state changes that close / cancel cause.

const { beijingTime, newTradeNo } = require('./clock');

const NOT_FOUND = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在' };
const UNKNOWN = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SOMETHING_NEW', sub_msg: '一个没有人认识的新错误码' };
const BUSY = { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' };
const STATUS_ERROR = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_STATUS_ERROR', sub_msg: '交易状态不合法' };
const BUSY_RETRY = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: '系统错误', retry_flag: 'Y' };
const CANCEL_TIME_OUT = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_CANCEL_TIME_OUT', sub_msg: '超过撤销时间范围', retry_flag: 'N' };
const FEE_EXCEED = { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TOTAL_FEE_EXCEED', sub_msg: '订单金额超过限额' };

function precreate(kind, otn, order) {
  if (kind === 'fail') return FEE_EXCEED;
  if (kind === 'processing' || !order) return BUSY;
  return { code: '10000', msg: 'Success', out_trade_no: otn, qr_code: order.qr_code };
}

function query(kind, beh, otn, order, t) {
  let status;
  if (kind === 'processing') status = 'WAIT_BUYER_PAY';
  else if (kind === 'fail' || kind === 'closed') status = 'TRADE_CLOSED';
  else if (kind === 'trade_status') status = beh.trade_status;
  else {
    if (!order) return NOT_FOUND;
    status = order.state;
  }
  const o = order || { trade_no: newTradeNo(t), total_amount: '0.01', paid_at: null };
  const v = {
    code: '10000',
    msg: 'Success',
    buyer_logon_id: 'csq***@sandbox.com',
    buyer_pay_amount: '0.00',
    buyer_user_id: '2088102177846880',
    invoice_amount: '0.00',
    out_trade_no: otn,
    point_amount: '0.00',
    receipt_amount: '0.00',
    total_amount: o.total_amount,
    trade_no: o.trade_no,
    trade_status: status,
  };
  if (status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED') {
    v.buyer_pay_amount = o.total_amount;
    v.invoice_amount = o.total_amount;
    v.receipt_amount = o.total_amount;
    v.send_pay_date = beijingTime(o.paid_at || t);
    v.fund_bill_list = [{ amount: o.total_amount, fund_channel: 'ALIPAYACCOUNT' }];
  }
  return v;
}

function closeTrade(order, t) {
  order.state = 'TRADE_CLOSED';
  order.closed_at = t;
}

// close refuses a paid trade; cancel closes an unpaid trade and refunds a paid one.
function closeOrCancel(op, kind, otn, order, t) {
  // cancel: "processing" = Alipay asks for another try (retry_flag Y); "fail" = too late to cancel
  if (op === 'cancel' && kind === 'processing') return { ...BUSY_RETRY };
  if (op === 'cancel' && kind === 'fail') return CANCEL_TIME_OUT;
  if (kind === 'processing') return BUSY;
  if (kind === 'fail') return STATUS_ERROR;
  if (!order) return NOT_FOUND;
  if (op === 'close') {
    if (order.state === 'TRADE_SUCCESS' || order.state === 'TRADE_FINISHED') return STATUS_ERROR;
    if (order.state !== 'TRADE_CLOSED') closeTrade(order, t);
    return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: order.trade_no };
  }
  const action = order.state === 'TRADE_SUCCESS' ? 'refund' : 'close';
  closeTrade(order, t);
  return { code: '10000', msg: 'Success', out_trade_no: otn, trade_no: order.trade_no, retry_flag: 'N', action };
}

// beh: the effective parsed behaviour (badsign answers like success, signed wrongly elsewhere).
function businessAnswer(op, beh, otn, order, t) {
  const kind = beh.kind === 'badsign' ? 'success' : beh.kind;
  if (kind === 'not_found') return NOT_FOUND;
  if (kind === 'unknown') return UNKNOWN;
  if (op === 'precreate') return precreate(kind, otn, order);
  if (op === 'query') return query(kind, beh, otn, order, t);
  return closeOrCancel(op, kind, otn, order, t);
}

module.exports = { businessAnswer };
