'use strict';
// Business answers of the unionpay_acp sim: which respCode / origRespCode each behaviour
// gives per operation (UnionPay ACP 5.1.0; codes from the 应答码 list and the official demo's
// status rules), and the fields of an answer / notify.

// behaviour -> synchronous respCode, per op (consume back/front, refund, cancel)
const SYNC = {
  pay: { success: '00', fail: '64', processing: '03', not_found: '34', unknown: '9Z', closed: '00', badsign: '00' },
  refund: { success: '00', fail: '35', processing: '03', not_found: '34', unknown: '8Q', closed: '00', badsign: '00' },
  cancel: { success: '00', fail: '45', processing: '03', not_found: '34', unknown: '8Q', closed: '00', badsign: '00' },
};

// behaviour -> queryTrans result: [respCode, origRespCode | null (= the order's state)]
const QUERY = {
  success: ['00', null], badsign: ['00', null], fail: ['00', '61'], closed: ['00', '01'],
  processing: ['00', '05'], not_found: ['34', null], unknown: ['00', 'Q7'],
};
const REFUND_QUERY = { ...QUERY, fail: ['00', '01'] };

const MSG = { '00': 'success', '03': '交易通讯超时，请发起查询交易', '05': '交易已受理，请稍后查询交易结果', '34': '查无此交易', '35': '原交易不存在或状态不正确', '45': '原交易已被退货或已被撤销', '61': '输入的卡号无效', '64': '卡上的余额不足', '01': '交易失败', '11': '验证签名失败' };
const msg = (code) => MSG[code] || '未知应答';

function common(f) {
  return { version: '5.1.0', encoding: 'UTF-8', bizType: f.bizType || '000201', txnType: f.txnType, txnSubType: f.txnSubType || '00', accessType: f.accessType || '0', merId: f.merId };
}

function syncAnswer(op, kind, f, extra) {
  const code = SYNC[op][kind] || '9Z';
  return { ...common(f), orderId: f.orderId, txnTime: f.txnTime, txnAmt: f.txnAmt, currencyCode: f.currencyCode || '156', respCode: code, respMsg: msg(code), ...extra };
}

// t: the queried transaction {orderId, txnTime, txnAmt, queryId, state, traceNo, ...} or null
function queryAnswer(kind, f, t, isRefund) {
  const [resp, fixedOrig] = (isRefund ? REFUND_QUERY : QUERY)[kind] || ['00', 'Q7'];
  const base = { ...common(f), orderId: f.orderId || (t && t.orderId), txnTime: f.txnTime || (t && t.txnTime) };
  if (resp !== '00' || !t || (fixedOrig === null && t.state === 'WAIT')) {
    return { ...base, respCode: '34', respMsg: msg('34') };
  }
  const orig = fixedOrig || t.state;
  return {
    ...base, orderId: t.orderId, txnTime: t.txnTime, respCode: '00', respMsg: 'success', origRespCode: orig, origRespMsg: msg(orig),
    queryId: t.queryId, txnAmt: t.txnAmt, currencyCode: '156', traceNo: t.traceNo, traceTime: t.txnTime.slice(4),
    settleDate: t.txnTime.slice(4, 8), settleAmt: t.txnAmt, settleCurrencyCode: '156', reqReserved: t.reqReserved,
  };
}

function notifyFields(t, code) {
  const f = {
    // a consume's notify names the consume's own bizType (000201 gateway / front, 000301 back)
    version: '5.1.0', encoding: 'UTF-8', bizType: t.bizType || '000201', txnType: t.txnType, txnSubType: t.txnType === '01' ? '01' : '00',
    accessType: '0', merId: t.merId, orderId: t.orderId, txnTime: t.txnTime, txnAmt: t.txnAmt, currencyCode: '156',
    queryId: t.queryId, respCode: code, respMsg: msg(code), traceNo: t.traceNo, traceTime: t.txnTime.slice(4),
    settleDate: t.txnTime.slice(4, 8), settleAmt: t.txnAmt, settleCurrencyCode: '156',
  };
  if (t.origQryId) f.origQryId = t.origQryId;
  if (t.reqReserved) f.reqReserved = t.reqReserved;
  if (t.txnType === '01') Object.assign(f, { accNo: '6216***********0018', payCardType: '01', payType: '0001' });
  return f;
}

module.exports = { syncAnswer, queryAnswer, notifyFields, msg };
