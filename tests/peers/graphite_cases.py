#!/usr/bin/env python3
"""Writes the golden cases for the Graphite API (data and requests) as JSON to stdout.

The data are small and deterministic: a few series at 10 s and one at 60 s, with nulls, a
counter with a reset, negative values and tagged series. graphite_web_oracle.py feeds them to
graphite-web; Sightline's golden test feeds the same points to its own store.
"""
import json

NOW = 1700000000
STEP = 10
N = 180
START = NOW - N * STEP + STEP


def ten(fn):
    return [fn(i) for i in range(N)]


def cpu1(i):
    return None if i % 17 == 5 else 10 + (i * 7) % 13


def cpu2(i):
    return None if i % 23 == 0 else 20 + (i * 3) % 11 - 0.5


def cpu3(i):
    return None if 150 <= i < 160 else (i % 10) * 1.5


def counter(base, rate, reset):
    out, total = [], base
    for i in range(N):
        total = 3 if i == reset else total + rate + (i % 4)
        out.append(None if i % 29 == 7 else total)
    return out


SERIES = [
    {"name": "servers.web1.cpu", "values": ten(cpu1)},
    {"name": "servers.web2.cpu", "values": ten(cpu2)},
    {"name": "servers.db1.cpu", "values": ten(cpu3)},
    {"name": "servers.web1.requests", "values": counter(1000, 5, 150)},
    {"name": "servers.web2.requests", "values": counter(50, 2, 170)},
    {"name": "misc.negative", "values": ten(lambda i: None if i % 11 == 3 else (i % 9) - 4.25)},
    {"name": "counters.wrap", "values": ten(lambda i: (i * 37) % 1000)},
    {"name": "misc.sparse", "values": ten(lambda i: float(i) if i % 8 == 0 else None)},
    # One old point, so the series exists (as its whisper file does) but is empty in the window.
    {"name": "misc.empty", "values": [1.0] + [None] * (N - 1)},
    {"name": "disk.used;dc=east;server=web1", "values": ten(lambda i: 100 + i % 7)},
    {"name": "disk.used;dc=east;server=web2", "values": ten(lambda i: None if i % 5 == 0 else 50 + i % 3)},
    {"name": "disk.used;dc=west;server=db1", "values": ten(lambda i: 70 + (i * 5) % 9)},
    {"name": "cpu.load;dc=east;server=web1", "values": ten(lambda i: 0.5 + (i % 6) / 4)},
]
for s in SERIES:
    s.update({"retentions": "10s:2d", "xff": 0.0, "method": "average", "start": START, "step": STEP})
SERIES.append({"name": "slow.minutely", "retentions": "60s:2d", "xff": 0.0, "method": "average",
               "start": NOW - 30 * 60, "step": 60,
               "values": [None if i % 7 == 3 else 5 * i + 1 for i in range(30)]})

P = "servers.*.cpu"
C = "servers.*.requests"
TARGETS = [
    # paths
    "servers.web1.cpu", P, "servers.{web1,db1}.cpu", "servers.web[0-9].cpu", "servers.w?b1.cpu",
    "misc.*", "nothing.here", "slow.minutely",
    # aliasing
    "alias(servers.web1.cpu,'front')", "aliasByNode(%s,1)" % P, "aliasByNode(%s,0,-1)" % P,
    "aliasByNode(%s,9)" % P, "aliasByNode(%s,1,9)" % P, "aliasByNode(%s,-9)" % P,
    "aliasByMetric(%s)" % P, "aliasSub(%s,'(^.*$)','\\1 A')" % P,
    "aliasSub(%s,'^servers\\.([^.]+)\\..*','host \\1')" % P,
    "aliasByTags(seriesByTag('name=disk.used'),'server','dc')",
    "aliasByNode(seriesByTag('name=disk.used'),'server')",
    # combination
    "sumSeries(%s)" % P, "sum(%s)" % P, "averageSeries(%s)" % P, "avg(%s)" % P,
    "maxSeries(%s)" % P, "minSeries(%s)" % P, "diffSeries(%s)" % P,
    "diffSeries(servers.web1.cpu,servers.web2.cpu)",
    "divideSeries(servers.web1.cpu,servers.web2.cpu)", "divideSeries(%s,servers.db1.cpu)" % P,
    "multiplySeries(servers.web1.cpu,servers.web2.cpu)",
    "asPercent(%s)" % P, "asPercent(servers.web1.cpu,servers.web2.cpu)", "asPercent(%s,100)" % P,
    "asPercent(%s,sumSeries(%s))" % (P, P),
    "group(servers.web1.cpu,misc.negative)", "groupByNode(%s,1,'sumSeries')" % C,
    "groupByNode(servers.*.*,2,'averageSeries')", "groupByNode(servers.*.*,1)",
    "groupByNodes(servers.*.*,'sum',1,2)", "groupByNodes(servers.*.*,'max',2)",
    "groupByTags(seriesByTag('name=disk.used'),'sum','dc')",
    "groupByTags(seriesByTag('name=disk.used'),'average','name')",
    "sumSeriesWithWildcards(servers.*.*,1)", "averageSeriesWithWildcards(servers.*.*,1)",
    "aggregate(%s,'sum')" % P, "aggregate(%s,'median')" % P, "aggregate(%s,'stddev')" % P,
    "aggregate(%s,'count')" % P, "aggregate(%s,'range')" % P, "aggregate(%s,'multiply')" % P,
    "aggregate(%s,'last')" % P, "aggregate(%s,'avg_zero')" % P, "aggregate(%s,'diff')" % P,
    "aggregate(%s,'sum',0.7)" % P, "aggregateWithWildcards(servers.*.*,'max',1)",
    "sumSeries(servers.web1.cpu,slow.minutely)", "sumSeries(servers.web1.cpu,misc.empty)",
    "sumSeries(nothing.*)", "countSeries(%s)" % P, "countSeries()",
    "rangeOfSeries(%s)" % P, "stddevSeries(%s)" % P, "percentileOfSeries(%s,50)" % P,
    "percentileOfSeries(%s,90,true)" % P,
    # transforms
    "scale(%s,2.5)" % P, "scaleToSeconds(%s,1)" % C, "offset(%s,-10)" % P, "absolute(misc.negative)",
    "derivative(%s)" % C, "nonNegativeDerivative(%s)" % C, "nonNegativeDerivative(%s,1200)" % C,
    "perSecond(%s)" % C, "integral(%s)" % P, "summarize(%s,'1min')" % P,
    "summarize(%s,'1min','sum',true)" % P, "summarize(%s,'2min','max')" % P,
    "summarize(%s,'90s','last')" % P, "hitcount(%s,'1min')" % P, "hitcount(%s,'2min',true)" % P,
    "timeShift(servers.web1.cpu,'5min')", "timeShift(%s,'-2min')" % P,
    "timeShift(servers.web1.cpu,'+1min')",
    "timeStack(servers.web1.cpu,'1min',0,3)", "transformNull(%s)" % P, "transformNull(%s,-1)" % P,
    "keepLastValue(%s)" % P, "keepLastValue(misc.sparse,3)", "delay(%s,2)" % P,
    "delay(%s,-3)" % P,
    # moving windows
    "movingAverage(%s,5)" % P, "movingAverage(%s,'1min')" % P, "movingMedian(%s,4)" % P,
    "movingSum(%s,'2min')" % P, "movingMin(%s,3)" % P, "movingMax(%s,6)" % P,
    "movingAverage(misc.sparse,4,0.5)", "movingWindow(%s,5,'sum')" % P,
    # selection
    "highestAverage(%s,2)" % P, "highestCurrent(%s,1)" % P, "highestMax(%s,2)" % P,
    "lowestAverage(%s,2)" % P, "lowestCurrent(%s,2)" % P, "highest(%s,2,'sum')" % P,
    "lowest(%s,1,'max')" % P, "limit(%s,2)" % P, "exclude(%s,'web')" % P, "grep(%s,'web')" % P,
    "removeAboveValue(%s,20)" % P, "removeBelowValue(%s,12)" % P,
    "removeAbovePercentile(%s,80)" % P, "removeBelowPercentile(%s,20)" % P,
    "filterSeries(%s,'max','>',20)" % P, "filterSeries(%s,'sum','<=',600)" % P,
    "sortByName(servers.*.*)", "sortByName(servers.*.*,true,true)", "sortByMaxima(%s)" % P,
    "sortByTotal(%s)" % P, "sortByMinima(%s)" % P, "sortBy(%s,'average',true)" % P,
    "currentAbove(%s,10)" % P, "currentBelow(%s,10)" % P, "averageAbove(%s,12)" % P,
    "averageBelow(%s,12)" % P, "maximumAbove(%s,20)" % P, "maximumBelow(%s,20)" % P,
    "minimumAbove(%s,5)" % P, "minimumBelow(%s,5)" % P, "removeEmptySeries(misc.*)",
    "removeEmptySeries(misc.*,0.3)", "mostDeviant(%s,2)" % P, "unique(%s,servers.web1.cpu)" % P,
    "useSeriesAbove(%s,20,'cpu','requests')" % P,
    "fallbackSeries(nothing.here,servers.web1.cpu)",
    # others
    "constantLine(100)", "constantLine(1.5)", "threshold(42)", "threshold(7,'seven','red')",
    "consolidateBy(%s,'sum')" % P, "seriesByTag('name=disk.used')",
    "seriesByTag('name=disk.used','dc!=east')", "seriesByTag('server=~web')",
    "seriesByTag('name=disk.used','server!=~w.*1')", "seriesByTag('dc=east','server=~^web[12]$')",
    "seriesByTag('name=~disk','nope=')", "legendValue(%s,'avg')" % P,
    "legendValue(%s,'last','max','si')" % P, "cactiStyle(%s)" % P, "cactiStyle(%s,'si')" % P,
    "nPercentile(%s,75)" % P, "stdev(%s,5)" % P, "stdev(misc.sparse,3,0.5)",
    "isNonNull(%s)" % P, "changed(%s)" % P, "invert(%s)" % P, "pow(%s,2)" % P,
    "powSeries(servers.web1.cpu,servers.db1.cpu)", "squareRoot(misc.negative)",
    "log(%s)" % P, "log(%s,2)" % P, "log(misc.negative)", "logarithm(servers.web1.cpu,10)",
    "minMax(%s)" % P, "offsetToZero(%s)" % P, "round(servers.db1.cpu)", "round(%s,1)" % P,
    "cumulative(%s)" % P, "integralByInterval(%s,'1min')" % P, "interpolate(%s)" % P,
    "interpolate(misc.sparse,3)", "substr(%s,1,2)" % P, "substr(%s,2)" % P,
    "exponentialMovingAverage(%s,5)" % P, "linearRegression(servers.web1.requests)",
    "setXFilesFactor(%s,0.5)" % P, "sumSeries(setXFilesFactor(%s,0.8))" % P,
    "sortByName(group(%s,servers.web1.requests))" % P,
    "reduceSeries(mapSeries(servers.web*.*,1),'asPercent',2,'cpu','requests')",
    "applyByNode(servers.*.cpu,1,'sumSeries(%.*)')",
    "sumSeriesLists(servers.*.cpu,servers.*.cpu)", "aggregateSeriesLists(servers.*.cpu,servers.*.cpu,'diff')",
    "timeSlice(servers.web1.cpu,'-5min','-2min')", "sinFunction('sine',2)",
    "changed(misc.sparse)", "drawAsInfinite(servers.web1.cpu)",
    # styling passes through
    "color(%s,'red')" % P, "lineWidth(%s,3)" % P, "dashed(%s)" % P, "secondYAxis(%s)" % P,
    "alpha(%s,0.5)" % P, "stacked(%s)" % P, "areaBetween(servers.web*.cpu)",
    "alias(color(scale(servers.web1.cpu,2),'blue'),'x')",
    # pipes and templates
    "servers.*.cpu|sumSeries()|alias('total')", "template(servers.$h.cpu,h='web1')",
    # the rest of graphite-web's library
    "holtWintersForecast(servers.web1.cpu,'15min','5min')", "holtWintersForecast(%s,'10min','2min')" % P,
    "holtWintersConfidenceBands(servers.web1.cpu,3,'15min','5min')",
    "holtWintersConfidenceBands(%s,2,'10min','2min')" % P,
    "holtWintersConfidenceArea(servers.web1.cpu,3,'15min','5min')",
    "holtWintersAberration(servers.web1.cpu,1,'15min','5min')",
    "smartSummarize(%s,'1min')" % P, "smartSummarize(%s,'2min','max')" % P,
    "smartSummarize(%s,'1min','average','minutes')" % P,
    "aggregateLine(%s)" % P, "aggregateLine(%s,'max',true)" % P, "aggregateLine(misc.empty)",
    "identity('clock')", "timeFunction('t',120)", "exp(misc.negative)", "add(%s,5)" % P,
    "sigmoid(misc.negative)", "logit(scale(servers.db1.cpu,0.05))",
    "multiplySeriesWithWildcards(servers.web*.*,1)", "diffSeriesLists(servers.*.cpu,servers.*.cpu)",
    "multiplySeriesLists(servers.web*.cpu,servers.web*.requests)",
    "divideSeriesLists(servers.web*.requests,servers.web*.cpu)",
    "averageOutsidePercentile(%s,70)" % P, "removeBetweenPercentile(seriesByTag('server=~web1|db1','name=~disk|cpu'),30)",
    "aliasQuery(servers.web*.cpu,'servers\\.(web\\d)\\.cpu','servers.\\1.requests','req %d')",
    "pct(%s)" % P, "asPercent(servers.*.*,servers.*.cpu,1)", "asPercent(servers.*.*,None,1)",
    "asPercent(servers.web*.cpu,servers.web*.requests)",
    "map(servers.web*.*,1)|reduce('divideSeries',2,'requests','cpu')",
    "stacked(%s,'mine')" % P, "powSeries(%s)" % P, "cumulative(%s)" % P,
    "xFilesFactor(%s,0.3)" % P, "sortBy(%s,'max')" % P, "sortBy(%s,'last',true)" % P,
    "groupByNode(servers.*.*,1,'sum')", "groupByNode(servers.*.*,2,'countSeries')",
    "groupByNodes(servers.*.*,'average')", "groupByNodes(seriesByTag('name=disk.used'),'sum','dc')",
    "groupByTags(seriesByTag('name=~disk|cpu'),'sumSeries','server')",
    "groupByTags(seriesByTag('server=web1'),'max','name','dc')",
    "aliasByTags(seriesByTag('dc=east'),'name','server')", "aliasByNode(%s,1,'nope')" % P,
    "aliasByNode(summarize(%s,'1min'),1)" % P, "aliasByMetric(sumSeries(servers.*.cpu))",
    "legendValue(%s,'nonsense')" % P, "legendValue(%s,'min','binary')" % P,
    "cactiStyle(%s,'si','b')" % P, "cactiStyle(%s,None,'req')" % P,
    "template(servers.$1.$2,'web2','cpu')", "template(sumSeries(servers.$h.cpu),h='*')",
    "keepLastValue(misc.sparse,10)", "interpolate(misc.sparse,5)", "substr(servers.web1.cpu,-2)",
    "linearRegression(servers.web1.requests,'-20min','-10min')", "integralByInterval(servers.web1.requests,'2min')",
    "hitcount(slow.minutely,'5min')", "hitcount(servers.web1.cpu,'35s')", "summarize(slow.minutely,'2min','avg')",
    "summarize(%s,'1min','last',true)" % P, "summarize(%s,'1min','median')" % P,
    "consolidateBy(sumSeries(servers.*.cpu),'max')", "removeEmptySeries(misc.*,0.5)",
    "seriesByTag('name=disk.used','server=~w')|aliasByTags('server')|sortByName()",
    "filterSeries(%s,'count','>=',55)" % P, "highest(%s,1,'stddev')" % P, "lowest(%s,2,'range')" % P,
    "transformNull(%s,0,servers.web1.cpu)" % P, "isNonNull(misc.sparse)", "offset(misc.empty,1)",
    "divideSeries(servers.web1.cpu,nothing.here)", "averageSeries(servers.web1.cpu,slow.minutely)",
    "perSecond(counters.wrap,999)", "perSecond(counters.wrap,None,0)",
    "nonNegativeDerivative(counters.wrap,None,5)", "nonNegativeDerivative(counters.wrap,999)",
    "nonNegativeDerivative(counters.wrap,800,10)", "derivative(counters.wrap)", "delay(misc.sparse,0)",
    "timeShift(servers.web1.cpu,'1min',false)", "timeStack(%s,'2min',1,3)" % P,
    "movingWindow(servers.web1.cpu,'1min','median',0.5)", "movingMin(misc.sparse,'1min')",
    "exponentialMovingAverage(servers.web1.cpu,'1min')", "stdev(%s,10,0.5)" % P,
    "round(misc.negative,1)", "round(servers.web1.requests,-2)", "pow(misc.negative,0.5)",
    "minMax(misc.empty)", "offsetToZero(misc.negative)", "invert(misc.negative)",
    "nPercentile(misc.sparse,50)", "percentileOfSeries(misc.*,75)", "mostDeviant(misc.*,1)",
    # errors
    "unknownFunction(servers.web1.cpu)", "sumSeries(servers.web1.cpu", "scale(servers.web1.cpu)",
    "alias(servers.web1.cpu)", "movingAverage(servers.web1.cpu,'bogus')",
]

REQUESTS = []
for t in TARGETS:
    REQUESTS.append({"path": "/render", "params": [["target", t], ["from", "-10min"], ["format", "json"]]})
# maxDataPoints consolidation, noNullPoints, other ranges and formats
for t, extra in [
    (P, [["maxDataPoints", "7"]]),
    (P, [["maxDataPoints", "1"]]),
    ("consolidateBy(%s,'max')" % P, [["maxDataPoints", "7"]]),
    ("consolidateBy(%s,'sum')" % P, [["maxDataPoints", "13"]]),
    ("consolidateBy(%s,'first')" % P, [["maxDataPoints", "9"]]),
    ("consolidateBy(%s,'last')" % P, [["maxDataPoints", "9"]]),
    ("consolidateBy(%s,'min')" % P, [["maxDataPoints", "9"]]),
    ("aliasByNode(%s,1)" % P, [["maxDataPoints", "20"]]),
    (P, [["noNullPoints", "true"]]),
    ("misc.*", [["noNullPoints", "true"]]),
    ("servers.web1.cpu", [["format", "csv"]]),
    ("servers.web1.cpu", [["format", "raw"]]),
    ("servers.*.cpu", [["format", "raw"], ["maxDataPoints", "10"]]),
    ("servers.web1.cpu", [["format", "json"], ["jsonp", "cb"]]),
]:
    params = [["target", t], ["from", "-10min"], ["format", "json"]]
    keys = {k for k, _ in extra}
    params = [p for p in params if p[0] not in keys] + extra
    REQUESTS.append({"path": "/render", "params": params})
for t, frm, until in [
    ("servers.web1.cpu", "-30min", "now"), (P, "-1h", "-20min"), ("slow.minutely", "-25min", "now"),
    ("summarize(slow.minutely,'5min')", "-25min", "now"), ("sumSeries(%s)" % P, str(NOW - 900), str(NOW - 300)),
    ("servers.web1.cpu", "-5min", "-10min"),
]:
    REQUESTS.append({"path": "/render", "params": [["target", t], ["from", frm], ["until", until], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", P], ["target", "sumSeries(%s)" % P], ["from", "-10min"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "template(servers.$h.cpu)"], ["template[h]", "db1"], ["from", "-10min"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "setXFilesFactor(%s,0.9)" % P], ["target", "sumSeries(%s)" % P], ["from", "-10min"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "sumSeries(%s)" % P], ["xFilesFactor", "0.9"], ["from", "-10min"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "stacked(%s)" % P], ["target", "stacked(servers.web1.cpu)"], ["from", "-10min"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "sumSeries(servers.web1.cpu,slow.minutely)"], ["from", "-10min"], ["format", "json"], ["maxDataPoints", "4"]]})
REQUESTS.append({"path": "/render", "params": [["target", "servers.web1.cpu"], ["from", "-10min"], ["format", "json"], ["tz", "Europe/Paris"], ["maxDataPoints", "11"]]})
REQUESTS.append({"path": "/render", "params": [["target", "servers.web1.cpu"], ["from", "-10min"], ["format", "csv"], ["tz", "America/New_York"]]})
REQUESTS.append({"path": "/render", "params": [["target", "hitcount(%s,'1h',true)" % P], ["from", "-10min"], ["format", "json"], ["tz", "Asia/Kolkata"]]})
REQUESTS.append({"path": "/render", "params": [["target", "servers.web1.cpu"], ["from", "23:00_20231114"], ["until", "20231115"], ["format", "json"]]})
REQUESTS.append({"path": "/render", "params": [["target", "servers.web1.cpu"], ["from", "now-15min"], ["until", "now-5min"], ["format", "json"]]})
# find, expand, index, tags
for q in ["*", "servers.*", "servers.web1.*", "servers.*.cpu", "servers.{web1,db1}", "nope.*", "misc.s*"]:
    REQUESTS.append({"path": "/metrics/find", "params": [["query", q]]})
REQUESTS.append({"path": "/metrics/find", "params": [["query", "servers."], ["format", "completer"]]})
REQUESTS.append({"path": "/metrics/find", "params": [["query", "servers.w"], ["format", "completer"]]})
REQUESTS.append({"path": "/metrics/find", "params": [["query", "servers.*"], ["wildcards", "1"]]})
REQUESTS.append({"path": "/metrics/expand", "params": [["query", "servers.*.cpu"]]})
REQUESTS.append({"path": "/metrics/expand", "params": [["query", "servers.*"], ["query", "misc.*"], ["groupByExpr", "1"]]})
REQUESTS.append({"path": "/metrics/expand", "params": [["query", "servers.*"], ["leavesOnly", "1"]]})
REQUESTS.append({"path": "/metrics/index.json", "params": []})
REQUESTS.append({"path": "/tags", "params": []})
REQUESTS.append({"path": "/tags", "params": [["filter", "^s"]]})
REQUESTS.append({"path": "/tags/dc", "params": []})
REQUESTS.append({"path": "/tags/server", "params": [["filter", "web"]]})
REQUESTS.append({"path": "/tags/findSeries", "params": [["expr", "name=disk.used"], ["expr", "dc=east"]]})
REQUESTS.append({"path": "/tags/findSeries", "params": [["expr", "server=~web"]]})
REQUESTS.append({"path": "/tags/autoComplete/tags", "params": [["expr", "name=disk.used"]]})
REQUESTS.append({"path": "/tags/autoComplete/tags", "params": [["tagPrefix", "s"], ["limit", "10000"]]})
REQUESTS.append({"path": "/tags/autoComplete/values", "params": [["tag", "server"]]})
REQUESTS.append({"path": "/tags/autoComplete/values", "params": [["tag", "server"], ["expr", "dc=east"], ["valuePrefix", "w"]]})

json.dump({"now": NOW, "series": SERIES, "requests": REQUESTS}, __import__("sys").stdout, indent=1)
print()
