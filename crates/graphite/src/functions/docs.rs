//! One-line descriptions for `/functions`, in our own words (Grafana's function editor shows
//! them). Aliases share their function's line.

/// The description of `name`, or a generic line for a function without one.
pub fn description(name: &str) -> String {
    let canonical = match name {
        "sum" => "sumSeries",
        "avg" => "averageSeries",
        "pct" => "asPercent",
        "map" => "mapSeries",
        "reduce" => "reduceSeries",
        "sin" => "sinFunction",
        "time" => "timeFunction",
        "randomWalk" => "randomWalkFunction",
        "xFilesFactor" => "setXFilesFactor",
        other => other,
    };
    DOCS.iter().find(|(n, _)| *n == canonical).map_or_else(
        || format!("{name}: a graphite-web function."),
        |(_, d)| (*d).to_owned(),
    )
}

const DOCS: &[(&str, &str)] = &[
    ("absolute", "Replaces every value with its absolute value."),
    ("add", "Adds a constant to every value."),
    (
        "aggregate",
        "Combines the series into one with an aggregation function (sum, average, max, median, stddev…), point by point.",
    ),
    (
        "aggregateLine",
        "Draws a horizontal line at each series' aggregate (average by default) over the range.",
    ),
    (
        "aggregateSeriesLists",
        "Combines two lists pairwise, the nth series of one with the nth of the other, with an aggregation function.",
    ),
    (
        "aggregateWithWildcards",
        "Aggregates the series that are the same once the given path nodes are ignored.",
    ),
    ("alias", "Renames the series."),
    (
        "aliasByMetric",
        "Renames each series to the last node of its path.",
    ),
    (
        "aliasByNode",
        "Renames each series to the given path nodes (or tags), joined by dots.",
    ),
    (
        "aliasByTags",
        "Renames each series to the values of the given tags (or nodes), joined by dots.",
    ),
    (
        "aliasQuery",
        "Renames each series with the last value of another query built from its name.",
    ),
    (
        "aliasSub",
        "Renames each series by a regular expression substitution; \\1 refers to a group.",
    ),
    (
        "alpha",
        "Sets the opacity of the series in graphs (0 to 1).",
    ),
    (
        "applyByNode",
        "Runs a target template once per distinct path prefix up to a node, % standing for the prefix.",
    ),
    (
        "areaBetween",
        "Fills the area between two series in graphs.",
    ),
    (
        "asPercent",
        "Each series as a percentage of a total: the sum of the list, a number, or other series.",
    ),
    ("averageAbove", "Keeps the series whose average is above N."),
    (
        "averageBelow",
        "Keeps the series whose average is at most N.",
    ),
    (
        "averageOutsidePercentile",
        "Removes the series whose average lies between the Nth and (100-N)th percentile of the averages.",
    ),
    (
        "averageSeries",
        "Averages the series into one, point by point.",
    ),
    (
        "averageSeriesWithWildcards",
        "Averages the series that are the same once the given path nodes are ignored.",
    ),
    (
        "cactiStyle",
        "Adds the current, maximum and minimum values to each legend, Cacti style.",
    ),
    (
        "changed",
        "1 where the value differs from the previous one, 0 elsewhere.",
    ),
    ("color", "Sets the colour of the series in graphs."),
    (
        "consolidateBy",
        "Chooses how points are combined when there are more than pixels or maxDataPoints: sum, average, min, max, first or last.",
    ),
    (
        "constantLine",
        "A horizontal line at a value across the range.",
    ),
    ("countSeries", "The number of series, as a series."),
    (
        "cumulative",
        "Consolidates by sum when points are combined.",
    ),
    (
        "currentAbove",
        "Keeps the series whose last value is above N.",
    ),
    (
        "currentBelow",
        "Keeps the series whose last value is at most N.",
    ),
    ("dashed", "Draws the series with dashes."),
    (
        "delay",
        "Shifts the values N steps later (or earlier, for a negative N), keeping the timestamps.",
    ),
    ("derivative", "The change from each point to the next."),
    (
        "diffSeries",
        "Subtracts the other series from the first, point by point.",
    ),
    (
        "diffSeriesLists",
        "Subtracts pairwise: the nth series of the second list from the nth of the first.",
    ),
    (
        "divideSeries",
        "Divides each series by one divisor series, point by point.",
    ),
    (
        "divideSeriesLists",
        "Divides pairwise: the nth series of the first list by the nth of the second.",
    ),
    (
        "drawAsInfinite",
        "Draws a vertical line wherever the value is non-zero (deployments, events).",
    ),
    (
        "events",
        "Counts Sightline events with the given tags per second.",
    ),
    (
        "exclude",
        "Removes the series whose name matches a regular expression.",
    ),
    ("exp", "e raised to each value."),
    (
        "exponentialMovingAverage",
        "An exponential moving average over a window of points or time.",
    ),
    (
        "fallbackSeries",
        "The first list, or the fallback when the first is empty.",
    ),
    (
        "filterSeries",
        "Keeps the series whose aggregate compares to a threshold with an operator (=, !=, >, >=, <, <=).",
    ),
    (
        "grep",
        "Keeps the series whose name matches a regular expression.",
    ),
    ("group", "Puts several lists together."),
    (
        "groupByNode",
        "Groups the series by one path node (or tag) and aggregates each group.",
    ),
    (
        "groupByNodes",
        "Groups the series by several path nodes (or tags) and aggregates each group.",
    ),
    (
        "groupByTags",
        "Groups the series by tag values and aggregates each group, naming it in tagged form.",
    ),
    (
        "highest",
        "The N series with the highest aggregate (average by default).",
    ),
    ("highestAverage", "The N series with the highest average."),
    (
        "highestCurrent",
        "The N series with the highest last value.",
    ),
    ("highestMax", "The N series with the highest maximum."),
    (
        "hitcount",
        "Per interval, the sum of rate x time: turns a per-second rate into hits per bucket.",
    ),
    (
        "holtWintersAberration",
        "How far each value falls outside its Holt-Winters confidence bands (0 inside).",
    ),
    (
        "holtWintersConfidenceArea",
        "Shades the area between the Holt-Winters confidence bands.",
    ),
    (
        "holtWintersConfidenceBands",
        "Upper and lower Holt-Winters confidence bands, delta deviations from the forecast.",
    ),
    (
        "holtWintersForecast",
        "A Holt-Winters seasonal forecast of each series, learnt over a bootstrap interval.",
    ),
    ("identity", "A series whose value is its own timestamp."),
    ("integral", "The running total of the values."),
    (
        "integralByInterval",
        "The running total, restarting at each interval.",
    ),
    (
        "interpolate",
        "Fills gaps with straight lines between the known values, up to a limit of points.",
    ),
    ("invert", "1 divided by each value."),
    (
        "isNonNull",
        "1 where there is a value, 0 where there is none.",
    ),
    (
        "keepLastValue",
        "Fills gaps with the last value seen, up to a limit of points.",
    ),
    (
        "legendValue",
        "Adds aggregates (avg, max, last…) of each series to its legend.",
    ),
    ("limit", "The first N series."),
    ("lineWidth", "Sets the line width of the series in graphs."),
    (
        "linearRegression",
        "The least-squares line through each series (or through another range of it).",
    ),
    (
        "log",
        "The logarithm of each value, in a base (10 by default).",
    ),
    ("logit", "The logit, log(v / (1 - v)), of each value."),
    (
        "lowest",
        "The N series with the lowest aggregate (average by default).",
    ),
    ("lowestAverage", "The N series with the lowest average."),
    ("lowestCurrent", "The N series with the lowest last value."),
    (
        "mapSeries",
        "Splits the series into lists by path nodes, for reduceSeries.",
    ),
    ("maxSeries", "The maximum of the series, point by point."),
    ("maximumAbove", "Keeps the series whose maximum is above N."),
    (
        "maximumBelow",
        "Keeps the series whose maximum is at most N.",
    ),
    (
        "minMax",
        "Scales each series to 0..1 between its minimum and maximum.",
    ),
    ("minSeries", "The minimum of the series, point by point."),
    ("minimumAbove", "Keeps the series whose minimum is above N."),
    (
        "minimumBelow",
        "Keeps the series whose minimum is at most N.",
    ),
    (
        "mostDeviant",
        "The N series with the largest standard deviation.",
    ),
    (
        "movingAverage",
        "The average over a moving window of points or time before each point.",
    ),
    (
        "movingMax",
        "The maximum over a moving window of points or time.",
    ),
    (
        "movingMedian",
        "The median over a moving window of points or time.",
    ),
    (
        "movingMin",
        "The minimum over a moving window of points or time.",
    ),
    (
        "movingSum",
        "The sum over a moving window of points or time.",
    ),
    (
        "movingWindow",
        "Any aggregation over a moving window of points or time.",
    ),
    (
        "multiplySeries",
        "Multiplies the series together, point by point.",
    ),
    (
        "multiplySeriesLists",
        "Multiplies pairwise: the nth series of one list by the nth of the other.",
    ),
    (
        "multiplySeriesWithWildcards",
        "Multiplies the series that are the same once the given path nodes are ignored.",
    ),
    (
        "nPercentile",
        "A horizontal line at each series' Nth percentile.",
    ),
    (
        "nonNegativeDerivative",
        "The change from point to point, ignoring decreases (counter resets) or wrapping at maxValue.",
    ),
    ("offset", "Adds a constant to every value."),
    (
        "offsetToZero",
        "Shifts each series so that its minimum is 0.",
    ),
    (
        "perSecond",
        "The per-second rate of change of a counter, ignoring resets.",
    ),
    (
        "percentileOfSeries",
        "The Nth percentile across the series, point by point.",
    ),
    ("pow", "Raises every value to a power."),
    (
        "powSeries",
        "Raises the first series to the power of the others, point by point.",
    ),
    ("randomWalkFunction", "A random walk, for testing graphs."),
    (
        "rangeOfSeries",
        "The range (max - min) across the series, point by point.",
    ),
    (
        "reduceSeries",
        "Applies a function to the matching series of each mapSeries group.",
    ),
    (
        "removeAbovePercentile",
        "Removes the values above each series' Nth percentile.",
    ),
    ("removeAboveValue", "Removes the values above N."),
    (
        "removeBelowPercentile",
        "Removes the values below each series' Nth percentile.",
    ),
    ("removeBelowValue", "Removes the values below N."),
    (
        "removeBetweenPercentile",
        "Keeps the series that go outside the Nth and (100-N)th percentiles at least once.",
    ),
    (
        "removeEmptySeries",
        "Removes the series without values (or with fewer than xFilesFactor of them).",
    ),
    ("round", "Rounds every value to a number of decimals."),
    ("scale", "Multiplies every value by a factor."),
    (
        "scaleToSeconds",
        "Scales a per-step value to a per-N-seconds one.",
    ),
    (
        "secondYAxis",
        "Draws the series against a second Y axis on the right.",
    ),
    (
        "seriesByTag",
        "The series whose tags match every expression: tag=value, tag!=value, tag=~regex, tag!=~regex.",
    ),
    (
        "setXFilesFactor",
        "Sets the share of points that must be present for a combined point to exist.",
    ),
    (
        "sigmoid",
        "The logistic function, 1 / (1 + e^-v), of each value.",
    ),
    ("sinFunction", "A sine wave, for testing graphs."),
    (
        "smartSummarize",
        "Buckets the values into intervals aligned to the start of the range (or of a unit).",
    ),
    ("sortBy", "Sorts the series by an aggregate."),
    (
        "sortByMaxima",
        "Sorts the series by their maximum, highest first.",
    ),
    (
        "sortByMinima",
        "Sorts the series by their minimum, lowest first, dropping those never above 0.",
    ),
    (
        "sortByName",
        "Sorts the series by name, optionally in natural order.",
    ),
    (
        "sortByTotal",
        "Sorts the series by their sum, highest first.",
    ),
    ("squareRoot", "The square root of every value."),
    ("stacked", "Stacks the series on each other in graphs."),
    (
        "stddevSeries",
        "The standard deviation across the series, point by point.",
    ),
    (
        "stdev",
        "The standard deviation over a moving window of points.",
    ),
    (
        "substr",
        "Renames each series to a slice of its path nodes.",
    ),
    (
        "sumSeries",
        "Adds the series together into one, point by point.",
    ),
    (
        "sumSeriesLists",
        "Adds pairwise: the nth series of one list to the nth of the other.",
    ),
    (
        "sumSeriesWithWildcards",
        "Adds the series that are the same once the given path nodes are ignored.",
    ),
    (
        "summarize",
        "Buckets the values into fixed intervals (aligned to the interval, or to the start of the range) with an aggregation.",
    ),
    (
        "threshold",
        "A horizontal line at a value, with a label and colour.",
    ),
    (
        "timeFunction",
        "A series whose value is its timestamp, at a step.",
    ),
    (
        "timeShift",
        "The series as it was an interval ago, drawn over the current range.",
    ),
    ("timeSlice", "Keeps only the values between two times."),
    (
        "timeStack",
        "Copies of the series shifted back by successive multiples of an interval.",
    ),
    (
        "transformNull",
        "Replaces missing values with a default (where a reference series has values, if given).",
    ),
    ("unique", "Removes the series whose name was already seen."),
    (
        "useSeriesAbove",
        "Renders other series, named by substitution, for the series whose maximum is above a value.",
    ),
    (
        "verticalLine",
        "A vertical line at a time, with a label and colour.",
    ),
    (
        "weightedAverage",
        "The average of one list weighted by another, matched by nodes.",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_function_is_described() {
        for def in super::super::all() {
            assert!(
                !super::description(def.name).ends_with("a graphite-web function."),
                "{} has no description",
                def.name
            );
        }
    }
}
