# The showcase examples as tests (issue 9): each script asserts its own
# result against an independent computation and exits non-zero otherwise.
# run_example.sh runs a script in a temporary directory and may override its
# `let` sizes (NAME=VALUE) so that the showcase-sized examples stay quick;
# flags for `txc run` follow `--`.  Include from tests/CMakeLists.txt with
#   include(${PROJECT_SOURCE_DIR}/examples/examples.cmake)
set(TX_EXAMPLES_DIR ${CMAKE_CURRENT_LIST_DIR})
function(tx_example name script)
  add_test(NAME example-${name}
           COMMAND sh ${TX_EXAMPLES_DIR}/run_example.sh $<TARGET_FILE:txc>
                   ${TX_EXAMPLES_DIR}/${script} ${ARGN})
  set_tests_properties(example-${name} PROPERTIES LABELS examples TIMEOUT 120)
endfunction()

tx_example(attention         attention/attention.tx n=64)
tx_example(attention-taylor  attention/taylor.tx n=48)
tx_example(gaunt             gaunt/gaunt.tx L=5 C=16)
tx_example(graph_poly        graph_poly/graph_poly.tx n=24)
tx_example(hebbian           hebbian/hebbian.tx)

tx_example(tucker_cp          tucker_cp/tucker_cp.tx       n=32)
tx_example(kron_gp            kron_gp/kron_gp.tx           N1=24 N2=20)
tx_example(kron_gp-smart      kron_gp/smart.tx             N1=12 N2=10)
tx_example(kron_gp-naive      kron_gp/naive.tx             N1=12 N2=10)
tx_example(second_order       second_order/second_order.tx d=500 m=16 n=10)
tx_example(second_order-smart second_order/smart.tx        d=300)
tx_example(second_order-naive second_order/naive.tx        d=300)
tx_example(cp_conv            cp_conv/cp_conv.tx           C=16 H=32 Rk=8)
tx_example(cp_conv-oneline    cp_conv/oneline.tx           C=8 H=16)
tx_example(stokes             stokes/stokes.tx             N=64)
tx_example(frame_avg          frame_avg/frame_avg.tx       n=100)
tx_example(frame_avg-smart    frame_avg/smart.tx           n=2000)
tx_example(frame_avg-naive    frame_avg/naive.tx           n=2000 G=64)
tx_example(sheaf              sheaf/sheaf.tx)
tx_example(sheaf-smart        sheaf/smart.tx               B=20 Ec=60)
tx_example(sheaf-naive        sheaf/naive.tx               B=20 Ec=60)
tx_example(nc1                nc1/nc1.tx)
tx_example(nc1-smart          nc1/smart.tx                 N=600 d=128 K=6)
tx_example(nc1-naive          nc1/naive.tx                 N=600 d=128 K=6)
