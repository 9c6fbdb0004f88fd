# Stand-ins for the Vitis HLS Tcl commands a build.tcl calls, for tclsh (no Xilinx tools here).
#   tclsh vitis-stub.tcl SCRIPT [TCLARGS...]     runs SCRIPT as `vitis_hls -f SCRIPT -tclargs TCLARGS` would
# Each command checks its arguments against the syntax UG1399 (Vitis HLS user guide, Tcl command
# reference) documents: its options (an unknown option is an error, as in Vitis), their values,
# its positional arguments, the order Vitis needs (a project before set_top/add_files/open_solution;
# a solution before set_part/create_clock/config_*/csim/csynth; a synthesis before cosim/export),
# that every added file and every -I folder of -cflags exists (absolute: Vitis compiles in its own
# build folder), that set_top names a function defined in the design files, and the clock period.
# Every call is logged on stdout as one line: CALL <command> <arguments...>. A failed check is a
# Tcl error (tclsh exits 1, naming the command). This checks the script, not synthesis.

set ::project ""
set ::solution ""
set ::top ""
set ::design {}
set ::testbench {}
set ::part ""
set ::clock ""
set ::synthesized 0

proc log {cmd argl} { puts "CALL $cmd [join $argl { }]" }
proc fail {cmd msg} { error "$cmd: $msg" }

# Parses argl against spec (option -> 1 when it takes a value, 0 for a switch).
# Returns {options positional}; an option not in spec is an error, as Vitis reports it.
proc parse {cmd spec argl} {
  set opts [dict create]
  set pos {}
  for {set i 0} {$i < [llength $argl]} {incr i} {
    set a [lindex $argl $i]
    if {[string index $a 0] eq "-" && ![string is double -strict $a]} {
      if {![dict exists $spec $a]} { fail $cmd "unknown option '$a' (UG1399 lists: [join [dict keys $spec] {, }])" }
      if {[dict get $spec $a]} {
        incr i
        if {$i >= [llength $argl]} { fail $cmd "option $a needs a value" }
        dict set opts $a [lindex $argl $i]
      } else {
        dict set opts $a 1
      }
    } else {
      lappend pos $a
    }
  }
  return [list $opts $pos]
}

proc need_project {cmd} { if {$::project eq ""} { fail $cmd "no project open (open_project first)" } }
proc need_solution {cmd} {
  need_project $cmd
  if {$::solution eq ""} { fail $cmd "no solution open (open_solution first)" }
}
proc one_of {cmd opt value allowed} {
  if {[lsearch -exact $allowed $value] < 0} { fail $cmd "$opt expects one of [join $allowed {, }], got '$value'" }
}
proc identifier {cmd what name} {
  if {![regexp {^[A-Za-z_][A-Za-z0-9_]*$} $name]} { fail $cmd "$what '$name' is not an identifier" }
}

proc open_project {args} {
  log open_project $args
  lassign [parse open_project {-reset 0 -upgrade 0} $args] opts pos
  if {[llength $pos] != 1} { fail open_project "expects one project name, got [llength $pos]" }
  identifier open_project "project name" [lindex $pos 0]
  set ::project [lindex $pos 0]
  set ::solution ""
  set ::synthesized 0
}

proc set_top {args} {
  log set_top $args
  need_project set_top
  if {[llength $args] != 1} { fail set_top "expects one function name" }
  identifier set_top "top function" [lindex $args 0]
  set ::top [lindex $args 0]
}

# -I folders of a -cflags/-csimflags string: each must be absolute and exist.
proc check_includes {cmd flags} {
  foreach w $flags {
    if {[string match -I* $w]} {
      set d [string range $w 2 end]
      if {[file pathtype $d] ne "absolute"} { fail $cmd "include folder '$d' is relative (Vitis compiles in its own build folder)" }
      if {![file isdirectory $d]} { fail $cmd "include folder '$d' does not exist" }
    }
  }
}

proc add_files {args} {
  log add_files $args
  need_project add_files
  lassign [parse add_files {-tb 0 -cflags 1 -csimflags 1 -blackbox 1} $args] opts pos
  if {[llength $pos] == 0} { fail add_files "expects at least one file" }
  foreach key {-cflags -csimflags} { if {[dict exists $opts $key]} { check_includes add_files [dict get $opts $key] } }
  foreach f $pos {
    if {![file exists $f]} { fail add_files "file '$f' does not exist" }
    if {[dict exists $opts -tb]} { lappend ::testbench $f } else { lappend ::design $f }
  }
}

proc open_solution {args} {
  log open_solution $args
  need_project open_solution
  lassign [parse open_solution {-reset 0 -flow_target 1} $args] opts pos
  if {[dict exists $opts -flow_target]} { one_of open_solution -flow_target [dict get $opts -flow_target] {vivado vitis} }
  if {[llength $pos] != 1} { fail open_solution "expects one solution name, got [llength $pos]" }
  identifier open_solution "solution name" [lindex $pos 0]
  set ::solution [lindex $pos 0]
  set ::synthesized 0
}

proc set_part {args} {
  log set_part $args
  need_solution set_part
  lassign [parse set_part {-board 0} $args] opts pos
  if {[llength $pos] != 1} { fail set_part "expects one part, got [llength $pos]" }
  if {![regexp {^[A-Za-z0-9_.:-]+$} [lindex $pos 0]]} { fail set_part "'[lindex $pos 0]' is not a part name" }
  set ::part [lindex $pos 0]
}

proc create_clock {args} {
  log create_clock $args
  need_solution create_clock
  lassign [parse create_clock {-period 1 -name 1} $args] opts pos
  if {[llength $pos] != 0} { fail create_clock "unexpected arguments: $pos" }
  if {![dict exists $opts -period]} { fail create_clock "-period is required" }
  set p [dict get $opts -period]
  if {![regexp {^([0-9]*\.?[0-9]+)(ns|MHz)?$} $p -> value unit] || $value <= 0} { fail create_clock "-period expects a positive number (ns, or with MHz), got '$p'" }
  if {[dict exists $opts -name]} { identifier create_clock "clock name" [dict get $opts -name] }
  set ::clock $p
}

proc config_array_partition {args} {
  log config_array_partition $args
  need_solution config_array_partition
  lassign [parse config_array_partition {-complete_threshold 1 -throughput_driven 1} $args] opts pos
  if {[llength $pos] != 0} { fail config_array_partition "unexpected arguments: $pos" }
  if {[dict exists $opts -complete_threshold] && ![string is digit -strict [dict get $opts -complete_threshold]]} { fail config_array_partition "-complete_threshold expects an unsigned integer" }
  if {[dict exists $opts -throughput_driven]} { one_of config_array_partition -throughput_driven [dict get $opts -throughput_driven] {off auto} }
}

# The top function is defined in a design file: NAME( … ) { at the start of a line's declaration.
proc check_top {cmd} {
  if {$::top eq ""} { fail $cmd "no top function (set_top first)" }
  if {[llength $::design] == 0} { fail $cmd "no design files (add_files first)" }
  foreach f $::design {
    set fh [open $f]
    set text [read $fh]
    close $fh
    set re [string map [list TOP $::top] {(^|\n)[^\n;#]*\mTOP\([^;]*\)\s*\{}]
    if {[regexp $re $text]} { return }
  }
  fail $cmd "top function '$::top' is not defined in the design files ([join $::design {, }])"
}

# -argv: the testbench's arguments; the first (its input) must exist, the others' folders too.
proc check_argv {cmd opts} {
  if {![dict exists $opts -argv]} { return }
  set words [dict get $opts -argv]
  foreach w $words k [lrange {0 1 2 3 4 5 6 7 8 9} 0 [expr {[llength $words] - 1}]] {
    if {$k == 0 && ![file exists $w]} { fail $cmd "-argv input '$w' does not exist" }
    if {$k > 0 && ![file isdirectory [file dirname $w]]} { fail $cmd "-argv output folder of '$w' does not exist" }
  }
}

proc csim_design {args} {
  log csim_design $args
  need_solution csim_design
  lassign [parse csim_design {-O 0 -argv 1 -clean 0 -ldflags 1 -mflags 1 -profile 0 -setup 0} $args] opts pos
  if {[llength $pos] != 0} { fail csim_design "unexpected arguments: $pos" }
  check_top csim_design
  if {[llength $::testbench] == 0} { fail csim_design "no testbench files (add_files -tb)" }
  check_argv csim_design $opts
}

proc csynth_design {args} {
  log csynth_design $args
  need_solution csynth_design
  lassign [parse csynth_design {-dump_cfg 0 -dump_post_cfg 0 -synthesis_check 0} $args] opts pos
  if {[llength $pos] != 0} { fail csynth_design "unexpected arguments: $pos" }
  check_top csynth_design
  if {$::part eq ""} { fail csynth_design "no part (set_part first)" }
  if {$::clock eq ""} { fail csynth_design "no clock (create_clock first)" }
  set ::synthesized 1
}

proc cosim_design {args} {
  log cosim_design $args
  need_solution cosim_design
  lassign [parse cosim_design {-O 0 -argv 1 -compiled_library_dir 1 -coverage 0 -disable_deadlock_detection 0 -disable_dependency_check 0 -enable_dataflow_profiling 0 -enable_fifo_sizing 0 -ldflags 1 -mflags 1 -random_stall 0 -rtl 1 -setup 0 -tool 1 -trace_level 1 -wave_debug 0} $args] opts pos
  if {[llength $pos] != 0} { fail cosim_design "unexpected arguments: $pos" }
  if {!$::synthesized} { fail cosim_design "no synthesis in this solution (csynth_design first)" }
  if {[llength $::testbench] == 0} { fail cosim_design "no testbench files (add_files -tb)" }
  if {[dict exists $opts -rtl]} { one_of cosim_design -rtl [dict get $opts -rtl] {verilog vhdl} }
  if {[dict exists $opts -trace_level]} { one_of cosim_design -trace_level [dict get $opts -trace_level] {none all port port_hier} }
  check_argv cosim_design $opts
}

proc export_design {args} {
  log export_design $args
  need_solution export_design
  lassign [parse export_design {-description 1 -display_name 1 -flow 1 -format 1 -ipname 1 -library 1 -output 1 -rtl 1 -taxonomy 1 -vendor 1 -version 1} $args] opts pos
  if {[llength $pos] != 0} { fail export_design "unexpected arguments: $pos" }
  if {!$::synthesized} { fail export_design "no synthesis in this solution (csynth_design first)" }
  if {[dict exists $opts -format]} { one_of export_design -format [dict get $opts -format] {ip_catalog xo syn_dcp sysgen} }
  if {[dict exists $opts -flow]} { one_of export_design -flow [dict get $opts -flow] {none syn impl} }
  if {[dict exists $opts -rtl]} { one_of export_design -rtl [dict get $opts -rtl] {verilog vhdl} }
}

proc close_solution {args} { log close_solution $args; need_solution close_solution; set ::solution "" }
proc close_project {args} { log close_project $args; need_project close_project; set ::project ""; set ::solution "" }

rename exit tcl_exit
proc exit {{code 0}} {
  puts "CALL exit $code"
  flush stdout
  tcl_exit $code
}

if {$argc < 1} {
  puts stderr "usage: tclsh vitis-stub.tcl SCRIPT \[TCLARGS...\]"
  tcl_exit 2
}
set script [lindex $argv 0]
set argv [lrange $argv 1 end]
set argc [llength $argv]
source $script
puts "END (the script did not call exit)"
