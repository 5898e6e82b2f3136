module shopbench/loadgen

go 1.26
