'use strict';
// The trade statement ("业务明细") Alipay serves behind bill_download_url, for the sim's
// trades: GBK CSV, '#' header/footer comment lines, the published detail columns
// (https://opendocs.alipay.com/open/204/106262), tab-padded ids, refunds as negative rows.
// Real Alipay zips it; the sim serves the CSV itself (paygw parses the unpacked text).

const { toGbk } = require('./gbk');

const HEADER = ['支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号',
  '门店名称', '操作员', '终端号', '对方账户', '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）',
  '支付宝优惠（元）', '商家优惠（元）', '券核销金额（元）', '券名称', '商家红包消费金额（元）', '卡消费金额（元）',
  '退款批次号/请求号', '服务费（元）', '分润（元）', '备注'];

const fee = (yuan, sign) => `${sign}${(Math.round(Number(yuan) * 100 * 0.006) / 100).toFixed(2)}`;

function row(t, kind, amount, finished, refundNo) {
  const neg = kind === 'refund' ? '-' : '';
  return [`${t.trade_no}\t`, `${t.out_trade_no}\t`, kind === 'refund' ? '退款' : '交易', t.subject, t.gmt_create,
    finished, '', '', '', '', 'csq***@sandbox.com', `${neg}${amount}`, `${neg}${amount}`, '0.00', '0.00', '0.00',
    '0.00', '0.00', '', '0.00', '0.00', refundNo || '', fee(amount, kind === 'refund' ? '' : '-'), '0.00', ''].join(',');
}

// trades: sim trade objects; refunds: [{trade, out_request_no, refund_amount, gmt_refund}]
function statementCsv(date, trades, refunds) {
  const d = date.replace(/-/g, '');
  const lines = ['#支付宝业务明细查询', '#账号：[20881021772966100156]',
    `#起始日期：[${d.slice(0, 4)}年${d.slice(4, 6)}月${d.slice(6)}日 00:00:00]   终止日期：[${d.slice(0, 4)}年${d.slice(4, 6)}月${d.slice(6)}日 23:59:59]`,
    '#-----------------------------------------业务明细列表----------------------------------------', HEADER.join(',')];
  let pays = 0;
  for (const t of trades) {
    if (t.state !== 'TRADE_SUCCESS' && t.state !== 'TRADE_FINISHED' && !t.refunded) continue;
    lines.push(row(t, 'pay', t.total_amount, t.gmt_payment || t.gmt_create));
    pays++;
  }
  for (const r of refunds) lines.push(row(r.trade, 'refund', r.refund_amount, r.gmt_refund, r.out_request_no));
  lines.push('#-----------------------------------------业务明细列表结束------------------------------------');
  lines.push(`#交易合计：${pays}笔，退款合计：${refunds.length}笔`);
  lines.push(`#导出时间：[${d.slice(0, 4)}年${d.slice(4, 6)}月${d.slice(6)}日 09:00:00]`);
  return toGbk(`${lines.join('\r\n')}\r\n`);
}

module.exports = { statementCsv, HEADER };
