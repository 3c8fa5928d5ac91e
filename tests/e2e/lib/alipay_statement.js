'use strict';
// An Alipay trade statement ("业务明细" CSV, GBK) for reconciliation tests, in the published
// column layout the simulator serves (tests/sim/lib/channels/alipay/statement.js), built
// fast enough for 100 000 rows: the rows are ASCII but for 业务类型 (交易), encoded once.

const fs = require('node:fs');
const { toGbk } = require('../../sim/lib/channels/alipay/gbk');
const { HEADER } = require('../../sim/lib/channels/alipay/statement');

const JY = toGbk('交易');
const beijing = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 19).replace('T', ' ');

// rows: [{no (out_trade_no), tradeNo (支付宝交易号), fen (amount), created (ms)}]
function statementBuffer(date, rows) {
  const d = date.replace(/-/g, '');
  const parts = [toGbk(['#支付宝业务明细查询', '#账号：[20881021772966100156]',
    `#起始日期：[${d.slice(0, 4)}年${d.slice(4, 6)}月${d.slice(6)}日 00:00:00]   终止日期：[${d.slice(0, 4)}年${d.slice(4, 6)}月${d.slice(6)}日 23:59:59]`,
    '#-----------------------------------------业务明细列表----------------------------------------', HEADER.join(','), ''].join('\r\n'))];
  for (const r of rows) {
    const yuan = (r.fen / 100).toFixed(2);
    const fee = (Math.round(r.fen * 0.006) / 100).toFixed(2);
    parts.push(Buffer.from(`${r.tradeNo}\t,${r.no}\t,`, 'latin1'), JY,
      Buffer.from(`,order,${beijing(r.created)},${beijing(r.created + 5000)},,,,,buyer***@example.com,${yuan},${yuan},0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-${fee},0.00,\r\n`, 'latin1'));
  }
  parts.push(toGbk(`#-----------------------------------------业务明细列表结束------------------------------------\r\n#交易合计：${rows.length}笔，退款合计：0笔\r\n`));
  return Buffer.concat(parts);
}

function writeStatement(file, date, rows) {
  fs.writeFileSync(file, statementBuffer(date, rows));
}

// the Beijing calendar day of a time, YYYY-MM-DD
const beijingDate = (ms) => beijing(ms).slice(0, 10);

module.exports = { writeStatement, statementBuffer, beijingDate };
