# SPDX-License-Identifier: GPL-2.0
# bench-overhead/overhead.gp: scripts/bench-overhead's chart, from
# bench-overhead/summarize.py's data.
#   gnuplot -e "dir='build/bench'" bench-overhead/overhead.gp
# writes dir/overhead.png.
# Left: each arm's throughput lost against no tracer (median of rounds, with
# the lowest and highest round). Right: tcptrace's extra cost per TCP state
# change against the number of idle connections held.

if (!exists("dir")) dir = "build/bench"
set terminal pngcairo size 1400,560 font "DejaVu Sans,11"
set output dir."/overhead.png"
set multiplot layout 1,2 title "tcptrace benchmark: TCP connection churn over loopback (TCP\\_CRR)"

set title "Connections/s lost to each tracer, against no tracer\n(median of rounds; whiskers: lowest and highest)"
set ylabel "connections/s lost (%)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -25 offset -1,0 font ",10"
set yrange [0:*]
set key off
plot dir."/churn.dat" using 0:3:xtic(2) with boxes lc rgb "#4477aa", \
     "" using 0:3:4:5 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:3:(sprintf("%.1f", $3)) with labels offset 0,1 font ",10"

set title "Does tcptrace's cost grow with live sockets?\n(median of rounds; whiskers: lowest and highest)"
set xlabel "idle established connections held (log scale)"
set ylabel "extra guest ns per state change"
set logscale x
set xrange [30:300000]
set yrange [0:*]
set xtics rotate by 0 offset 0,0 font ",11"
# No idle phase (--idle ""): idle.dat has its heading only.
if (system("grep -vc '^#' ".dir."/idle.dat") + 0 > 0) {
	plot dir."/idle.dat" using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#4477aa"
} else {
	set label 1 "no idle phase in this run" at graph 0.5, graph 0.5 center
	plot [30:300000] [0:1] NaN notitle
	unset label 1
}
unset multiplot
