# Two commands for a newcomer: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: demo demo-tracking test test-all test-badinput lint bench results-benchmark results-benchmark-50k results-benchmark-lri results-reduction results-lrp results-lri results-lri-100 results-lri-fieldscan results-lri-shift results-lri-ablation results-lri-batchnorm results-lri-tau3mu results-lri-tuning figures-lri results-tracking results-tracking-hgnn results-tracking-embedding results-tracking-embedding_in results-tracking-hgnn_embedding clean

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	# zennit is the independent reference for the LRP tests; its torchvision helpers are not needed.
	$(BIN)/python -m pip install --quiet --no-deps zennit==0.5.1
	# The ZINC SMILES of SynMol (moses/dataset/data/train.csv.gz); its pinned pomegranate 0.12 is not needed.
	$(BIN)/python -m pip install --quiet --no-deps molsets==0.3.1
	touch $@

demo: $(STAMP)
	$(BIN)/hepxai demo --out $(DEMO_DIR)

# The tracking chain at a laptop's size (docs/tracking.md, "A run that fits a laptop"): a custom setting of
# 20 tt̄ events at mu = 20 (10 train, 5 valid, 5 test), module-map graphs, the edge classifier for 5 epochs,
# the evaluation. Minutes on 2 cores; too small to mean anything, which the evaluation says
# (DEMO_TRACKING_ROOT/pt1_mu20_n20/edge_classifier/eval/warnings.txt).
DEMO_TRACKING_ROOT ?= demo-tracking
DEMO_TRACKING_SIZE := --events 20 --pileup 20
DEMO_TRACKING_RUN := $(DEMO_TRACKING_ROOT)/pt1_mu20_n20/edge_classifier
DEMO_TRACKING_GRAPHS := $(DEMO_TRACKING_ROOT)/pt1_mu20_n20/graphs/module_map
demo-tracking: $(STAMP)
	$(BIN)/hepxai tracking events --root $(DEMO_TRACKING_ROOT) $(DEMO_TRACKING_SIZE) --workers 2
	$(BIN)/hepxai tracking graphs --root $(DEMO_TRACKING_ROOT) $(DEMO_TRACKING_SIZE)
	$(BIN)/hepxai tracking train --graphs $(DEMO_TRACKING_GRAPHS) --out $(DEMO_TRACKING_RUN) --epochs 5 --threads 1 $$(test -f $(DEMO_TRACKING_RUN)/last.pt && echo --resume)
	$(BIN)/hepxai tracking evaluate --model $(DEMO_TRACKING_RUN)/best.pt --graphs $(DEMO_TRACKING_GRAPHS) --out $(DEMO_TRACKING_RUN)/eval --threads 1

# The tests run in TEST_WORKERS processes (pytest-xdist); each test module stays in one process, so the
# models its fixtures train are trained once.
TEST_WORKERS ?= 2
TEST_OPTIONS = -q -n $(TEST_WORKERS) --dist loadscope

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(TEST_OPTIONS)

test-all: $(STAMP)
	$(BIN)/python -m pytest $(TEST_OPTIONS)

# Corrupted events, graph folders, point sets and checkpoints, a full disk and a locked output: each must end
# in one line and exit 2 with nothing left behind (docs/reliability.md). Part of `make test` too.
test-badinput: $(STAMP)
	$(BIN)/python -m pytest -m badinput $(TEST_OPTIONS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Every results/X.csv has a target below that writes it, and beside it results/X.json: the command, the commit,
# the date and the machine (docs/benchmark.md, docs/lrp.md, docs/lri.md, docs/tracking.md). Long on 2 cores.

# results/benchmark_jets.csv: the explainer benchmark of docs/benchmark.md as committed: the HIN trained on
# 16,000 simulated jets (stopped after epoch 5, best epoch 3), 500 independent signal jets, with the
# impact-parameter rows. About an hour on 2 idle cores; files and model stay where the variables say. The jets
# are simulated with data simulate's default (tracker, pile-up mu = 30); the committed CSV used the resolution
# model and the earlier seeding (docs/benchmark.md), so a rerun writes other numbers.
BENCHMARK_TRAIN ?= data/train_sim101_16k.root
BENCHMARK_TEST ?= data/test_sim202.root
BENCHMARK_RUN ?= runs/hin_sim16k
IMPACT_PARAMETERS := trackBTag_Sip2dVal trackBTag_Sip2dSig trackBTag_Sip3dVal trackBTag_Sip3dSig track_dxy track_dxysig track_dz track_dzsig
results-benchmark: $(STAMP)
	test -f $(BENCHMARK_TRAIN) || $(BIN)/hepxai data simulate --signal 8000 --background 8000 --seed 101 --out $(BENCHMARK_TRAIN)
	test -f $(BENCHMARK_TEST) || $(BIN)/hepxai data simulate --signal 2050 --background 0 --seed 202 --out $(BENCHMARK_TEST)
	test -f $(BENCHMARK_RUN)/best.pt || $(BIN)/hepxai train --data $(BENCHMARK_TRAIN) --out $(BENCHMARK_RUN) --selection none --epochs 5 --lr 1e-3 --patience 3 --seed 0
	$(BIN)/hepxai benchmark --model $(BENCHMARK_RUN)/best.pt --data $(BENCHMARK_TEST) --out $(BENCHMARK_RUN)/benchmark --max-jets 500 --score-features $(IMPACT_PARAMETERS) --results results/benchmark_jets.csv

# results/benchmark_jets_50k.csv (not committed yet): the same benchmark at the size of the goal, 50k simulated
# training jets and 2,000 signal jets of the seed-202 file. About two hours on 2 idle cores.
RESULTS_DIR ?= runs/results
results-benchmark-50k: $(STAMP)
	mkdir -p $(RESULTS_DIR)
	test -f $(RESULTS_DIR)/train.root || $(BIN)/hepxai data simulate --signal 25000 --background 25000 --seed 101 --out $(RESULTS_DIR)/train.root
	test -f $(RESULTS_DIR)/test.root || $(BIN)/hepxai data simulate --signal 2500 --background 2500 --seed 202 --out $(RESULTS_DIR)/test.root
	test -f $(RESULTS_DIR)/run/best.pt || $(BIN)/hepxai train --data $(RESULTS_DIR)/train.root --out $(RESULTS_DIR)/run --selection none --epochs 6 --lr 1e-3 --patience 3 --seed 0
	$(BIN)/hepxai benchmark --model $(RESULTS_DIR)/run/best.pt --data $(RESULTS_DIR)/test.root --out $(RESULTS_DIR)/benchmark --max-jets 2000 --score-features $(IMPACT_PARAMETERS) --results results/benchmark_jets_50k.csv

# results/benchmark_jets_lri.csv (not committed yet): the benchmark's jets and training budget, the HIN trained
# with LRI-Bernoulli beside the plain one (docs/benchmark.md, "LRI-Bernoulli on jets"): its keep-probability per
# track as row lri_bernoulli, beside the post-hoc explainers of the plain model. Trains a second model (~ as long
# as the plain one), then the benchmark (about an hour on 2 idle cores).
BENCHMARK_RUN_LRI ?= runs/hin_sim16k_lri
results-benchmark-lri: $(STAMP)
	test -f $(BENCHMARK_TRAIN) || $(BIN)/hepxai data simulate --signal 8000 --background 8000 --seed 101 --workers 1 --out $(BENCHMARK_TRAIN)
	test -f $(BENCHMARK_TEST) || $(BIN)/hepxai data simulate --signal 2050 --background 0 --seed 202 --workers 1 --out $(BENCHMARK_TEST)
	test -f $(BENCHMARK_RUN)/best.pt || $(BIN)/hepxai train --data $(BENCHMARK_TRAIN) --out $(BENCHMARK_RUN) --selection none --epochs 5 --lr 1e-3 --patience 3 --seed 0
	test -f $(BENCHMARK_RUN_LRI)/best.pt || $(BIN)/hepxai train --lri --data $(BENCHMARK_TRAIN) --out $(BENCHMARK_RUN_LRI) --selection none --epochs 5 --lr 1e-3 --patience 3 --seed 0
	$(BIN)/hepxai benchmark --model $(BENCHMARK_RUN)/best.pt --lri-model $(BENCHMARK_RUN_LRI)/best.pt --data $(BENCHMARK_TEST) --out $(BENCHMARK_RUN_LRI)/benchmark --max-jets 500 --results results/benchmark_jets_lri.csv

# results/feature_reduction.csv and docs/images/reduction.png: the HIN retrained on its top-k features by LRP-ε
# relevance, permutation importance and at random (docs/reduction.md): the benchmark's 16k training jets and
# budget inside the original window, k = 4 ... 48, seeds 0 1 2 (57 trainings), scored on 12,500 independent jets.
# Resumable: stop it and run it again; finished runs in REDUCTION_RUNS are skipped.
REDUCTION_TEST ?= data/test_sim303_12k.root
REDUCTION_RUNS ?= runs/reduction
results-reduction: $(STAMP)
	test -f $(BENCHMARK_TRAIN) || $(BIN)/hepxai data simulate --signal 8000 --background 8000 --seed 101 --workers 1 --out $(BENCHMARK_TRAIN)
	test -f $(REDUCTION_TEST) || $(BIN)/hepxai data simulate --signal 2500 --background 10000 --seed 303 --workers 1 --out $(REDUCTION_TEST)
	$(BIN)/hepxai reduce --data $(BENCHMARK_TRAIN) --test $(REDUCTION_TEST) --out $(REDUCTION_RUNS) --epochs 5 --lr 1e-3 --patience 3 --results results/feature_reduction.csv --figure docs/images/reduction.png

# results/lrp_speed.csv: LRP on the HIN against its forward passes, one jet at a time and in memory
# (docs/lrp.md), one CPU thread. About 15 minutes; run it on a quiet machine.
results-lrp: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python bench/bench_lrp.py --threads 1 --repeats 5 --csv results/lrp_speed.csv

# results/lri.csv: the LRI comparison of docs/lri.md. Every method with 3 seeds on DGCNN for ActsTrack and
# SynMol, then ERM, LRI and GradGAM with one seed on Point Transformer and EGNN (their BatchNorm statistics
# recomputed over the training set after every epoch, docs/training.md). Resumable: stop it and run
# it again. The defaults are the committed table's budget for 2 cores (20 epochs, BernMask 100 steps,
# BernMask-P 10 epochs: about a day); the paper's is LRI_EPOCHS=300 LRI_MASK_STEPS=500 LRI_MASK_EPOCHS=100.
LRI_DATA ?= runs/lri-data
LRI_RUNS ?= runs/lri
LRI_EPOCHS ?= 20
LRI_MASK_STEPS ?= 100
LRI_MASK_EPOCHS ?= 10
LRI_FIGURES ?= runs/lri-figures
LRI_BUDGET = --epochs $(LRI_EPOCHS) --mask-steps $(LRI_MASK_STEPS) --mask-epochs $(LRI_MASK_EPOCHS) --out $(LRI_RUNS) --results results/lri.csv
results-lri: $(STAMP)
	test -f $(LRI_DATA)/actstrack/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_DATA)/actstrack
	test -f $(LRI_DATA)/synmol/dataset.yaml || $(BIN)/hepxai pointsets make synmol --out $(LRI_DATA)/synmol
	$(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --backbones dgcnn --seeds 0 1 2 $(LRI_BUDGET)
	$(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --backbones point_transformer egnn --methods erm lri_bernoulli lri_gaussian gradgam --seeds 0 --recompute-batchnorm $(LRI_BUDGET)

# results/lri_100_epochs.csv: DGCNN ERM and LRI-Gaussian with 100 epochs, seed 0 (docs/lri.md, "Longer training").
LRI_RUNS_100 ?= runs/lri-100
results-lri-100: $(STAMP)
	test -f $(LRI_DATA)/actstrack/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_DATA)/actstrack
	test -f $(LRI_DATA)/synmol/dataset.yaml || $(BIN)/hepxai pointsets make synmol --out $(LRI_DATA)/synmol
	$(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --backbones dgcnn --methods erm lri_gaussian --seeds 0 --epochs 100 --out $(LRI_RUNS_100) --results results/lri_100_epochs.csv

# results/lri_fieldscan.csv and docs/images/lri/fieldscan.png: LRI-Gaussian's Σ against the magnetic field
# (docs/lri.md, "Field scan"). Five ActsTrack-like datasets and the appendix E.2 protocol at a scaled-down budget,
# one thread: about 4 hours on a loaded 2-core machine. Resumable: stop it and run it again.
FIELDSCAN_FIELDS ?= 2 6 10 14 20
FIELDSCAN_DATA ?= runs/lri-fieldscan-data
FIELDSCAN_RUNS ?= runs/lri-fieldscan
results-lri-fieldscan: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri fieldscan --fields $(FIELDSCAN_FIELDS) --data $(FIELDSCAN_DATA) --out $(FIELDSCAN_RUNS) --results results/lri_fieldscan.csv --figure docs/images/lri/fieldscan.png --f-epochs 20 --g-epochs 30 --beta 0.01

# results/lri_shift.csv: the distribution shift of the paper's Table 5 (docs/lri.md, "Distribution shift"): ERM,
# LRI-Bernoulli and LRI-Gaussian (DGCNN, the committed budget) trained on 10-track ActsTrack-like samples; column
# d1-d2 chooses the epoch on samples of d1 tracks and tests on samples of d2 tracks, as the paper's caption says.
# About 3 minutes of one thread per dataset and 20-26 per column and seed. Resumable. The committed table trained on
# the field scan's 2 T folder (LRI_SHIFT_TRAIN=runs/lri-fieldscan-data/B2T, the same settings and samples as the
# default actstrack), hence its dataset names B2T-valid-actstrack-<d1>tracks-on-actstrack-<d2>tracks.
LRI_SHIFT_RUNS ?= runs/lri-shift
LRI_SHIFT_TRAIN ?= $(LRI_DATA)/actstrack
LRI_SHIFT_COLUMNS ?= 15-20 20-30 25-40 30-50 35-60 40-70
LRI_SHIFT_SEEDS ?= 0 1 2
results-lri-shift: $(STAMP)
	test -f $(LRI_SHIFT_TRAIN)/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_SHIFT_TRAIN)
	for column in $(LRI_SHIFT_COLUMNS); do \
	  for tracks in $${column%-*} $${column#*-}; do \
	    folder=$(LRI_DATA)/actstrack-$${tracks}tracks; \
	    test -f $$folder/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --tracks $$tracks --out $$folder || exit 1; \
	  done; \
	  OMP_NUM_THREADS=1 $(BIN)/hepxai lri benchmark --data $(LRI_SHIFT_TRAIN) --valid-data $(LRI_DATA)/actstrack-$${column%-*}tracks --test-data $(LRI_DATA)/actstrack-$${column#*-}tracks --methods erm lri_bernoulli lri_gaussian --seeds $(LRI_SHIFT_SEEDS) --epochs $(LRI_EPOCHS) --out $(LRI_SHIFT_RUNS) --results results/lri_shift.csv || exit 1; \
	done

# results/lri_ablation.csv: LRI-Gaussian with and without its differentiable graph rebuild, the paper's Table 6
# (docs/lri.md, "Ablation"), DGCNN, the committed budget, on ActsTrack-like (seeds 0 1 2) and SynMol (seed 0).
# Resumable.
LRI_ABLATION_RUNS ?= runs/lri-ablation
results-lri-ablation: $(STAMP)
	test -f $(LRI_DATA)/actstrack/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_DATA)/actstrack
	test -f $(LRI_DATA)/synmol/dataset.yaml || $(BIN)/hepxai pointsets make synmol --out $(LRI_DATA)/synmol
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --methods lri_gaussian lri_gaussian_fixed_graph --seeds 0 --epochs $(LRI_EPOCHS) --out $(LRI_ABLATION_RUNS) --results results/lri_ablation.csv
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack --methods lri_gaussian lri_gaussian_fixed_graph --seeds 0 1 2 --epochs $(LRI_EPOCHS) --out $(LRI_ABLATION_RUNS) --results results/lri_ablation.csv

# results/lri_batchnorm.csv: DGCNN ERM and LRI-Gaussian of seed 0 with the BatchNorm statistics recomputed over
# the training set after every epoch (the setting of the Point Transformer and EGNN rows), to set beside the same
# runs with running averages in results/lri_ablation.csv (docs/lri.md, "BatchNorm statistics"). Resumable.
LRI_BATCHNORM_RUNS ?= runs/lri-batchnorm
results-lri-batchnorm: $(STAMP)
	test -f $(LRI_DATA)/actstrack/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_DATA)/actstrack
	test -f $(LRI_DATA)/synmol/dataset.yaml || $(BIN)/hepxai pointsets make synmol --out $(LRI_DATA)/synmol
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri benchmark --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --methods erm lri_gaussian --seeds 0 --epochs $(LRI_EPOCHS) --recompute-batchnorm --out $(LRI_BATCHNORM_RUNS) --results results/lri_batchnorm.csv

# results/lri_tau3mu.csv: the Tau3Mu-like toy (docs/lri.md, "Tau3Mu-like data"), 20,000 samples (~15-30 min to
# make on one core), DGCNN on the authors' radius graphs, every method of the comparison at the committed budget,
# seed 0 (~45 min on one core). Resumable.
TAU3MU_DATA ?= runs/lri-data/tau3mu
TAU3MU_RUNS ?= runs/lri-tau3mu-radius
results-lri-tau3mu: $(STAMP)
	test -f $(TAU3MU_DATA)/dataset.yaml || $(BIN)/hepxai pointsets make tau3mu --out $(TAU3MU_DATA)
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri benchmark --data $(TAU3MU_DATA) --backbones dgcnn --seeds 0 --epochs $(LRI_EPOCHS) --out $(TAU3MU_RUNS) --results results/lri_tau3mu.csv

# results/lri_tuning.csv: the LRI paper's tuning grid on DGCNN (docs/lri.md, "The gap to the paper"): LRI-Gaussian's
# beta x c and LRI-Bernoulli's beta x alpha at 30 epochs, chosen on validation prediction AUC, then the chosen
# setting at 100 epochs; the Tau3Mu-like set's beta x c at the table's 20 epochs. About 6 hours on one core.
LRI_TUNING_RUNS ?= runs/lri-tune
LRI_TUNING_EPOCHS ?= 30
LRI_TUNING_FINAL ?= 100
results-lri-tuning: $(STAMP)
	test -f $(LRI_DATA)/actstrack/dataset.yaml || $(BIN)/hepxai pointsets make actstrack --out $(LRI_DATA)/actstrack
	test -f $(LRI_DATA)/synmol/dataset.yaml || $(BIN)/hepxai pointsets make synmol --out $(LRI_DATA)/synmol
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri tune --data $(LRI_DATA)/actstrack --method lri_gaussian --betas 1 0.1 0.01 --scales 200 300 --epochs $(LRI_TUNING_EPOCHS) --final-epochs $(LRI_TUNING_FINAL) --out $(LRI_TUNING_RUNS) --results results/lri_tuning.csv
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri tune --data $(LRI_DATA)/synmol --method lri_gaussian --betas 1 0.1 0.01 --scales 10 15 --epochs $(LRI_TUNING_EPOCHS) --final-epochs $(LRI_TUNING_FINAL) --out $(LRI_TUNING_RUNS) --results results/lri_tuning.csv
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri tune --data $(LRI_DATA)/actstrack --method lri_bernoulli --betas 1 0.1 0.01 --alphas 0.5 0.7 --epochs $(LRI_TUNING_EPOCHS) --final-epochs $(LRI_TUNING_FINAL) --out $(LRI_TUNING_RUNS) --results results/lri_tuning.csv
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri tune --data $(LRI_DATA)/synmol --method lri_bernoulli --betas 1 0.1 0.01 --alphas 0.5 0.7 --epochs $(LRI_TUNING_EPOCHS) --final-epochs $(LRI_TUNING_FINAL) --out $(LRI_TUNING_RUNS) --results results/lri_tuning.csv
	test -f $(TAU3MU_DATA)/dataset.yaml || $(BIN)/hepxai pointsets make tau3mu --out $(TAU3MU_DATA)
	OMP_NUM_THREADS=1 $(BIN)/hepxai lri tune --data $(TAU3MU_DATA) --method lri_gaussian --betas 1 0.1 0.01 --scales 7 11 --epochs $(LRI_EPOCHS) --out $(LRI_TUNING_RUNS) --results results/lri_tuning.csv

# The figures of docs/lri.md from the finished runs: ROC curves, hit displays with Σ ellipses, molecules.
figures-lri: $(STAMP)
	$(BIN)/hepxai lri figures --runs $(LRI_RUNS) --data $(LRI_DATA)/actstrack $(LRI_DATA)/synmol --out $(LRI_FIGURES) --seed 0

# results/tracking.csv: the edge-classifier chain (module-map graphs, Interaction Network, connected components)
# and Truth-CC on pt1_mu200 (docs/tracking.md): 200 detector events, graphs, training on 100 events (resumed if
# stopped), evaluation on the 50 test events at the cuts chosen on validation events. Hours on 2 cores; events,
# graphs and the run stay in TRACKING_ROOT. The test events are evaluated with every graph edge kept and with 20%
# dropped (every chain, Truth-CC included; the hierarchical models' table).
TRACKING_ROOT ?= data/tracking
TRACKING_RUN := $(TRACKING_ROOT)/pt1_mu200/edge_classifier
TRACKING_GRAPHS := $(TRACKING_ROOT)/pt1_mu200/graphs/module_map
results-tracking: $(STAMP)
	$(BIN)/hepxai tracking events --root $(TRACKING_ROOT) --workers 2
	$(BIN)/hepxai tracking graphs --root $(TRACKING_ROOT) --builder module_map
	$(BIN)/hepxai tracking train --graphs $(TRACKING_GRAPHS) --out $(TRACKING_RUN) --epochs 24 --patience 4 --hidden 32 --iterations 6 --max-val-events 25 --threads 1 $$(test -f $(TRACKING_RUN)/last.pt && echo --resume)
	$(BIN)/hepxai tracking graphs --root $(TRACKING_ROOT) --builder module_map --map-pt-min 0.5
	$(BIN)/hepxai tracking evaluate --model $(TRACKING_RUN)/best.pt --graphs $(TRACKING_GRAPHS) --out $(TRACKING_RUN)/eval --threads 1 --cut 0.7 --best-neighbours-cut 0.3 --results results/tracking.csv
	$(BIN)/hepxai tracking evaluate --model $(TRACKING_RUN)/best.pt --graphs $(TRACKING_GRAPHS) --out $(TRACKING_RUN)/eval_drop0.2 --edge-drop 0.2 --threads 1 --cut 0.7 --best-neighbours-cut 0.3 --results results/tracking.csv
	$(BIN)/hepxai tracking evaluate --model $(TRACKING_RUN)/best.pt --graphs $(TRACKING_GRAPHS)_map0.5 --out $(TRACKING_RUN)/eval_map0.5 --threads 1 --cut 0.7 --best-neighbours-cut 0.3 --results results/tracking.csv
	$(BIN)/hepxai tracking display --model $(TRACKING_RUN)/best.pt --graphs $(TRACKING_GRAPHS) --out $(TRACKING_RUN)/eval/display.png
	# The harder setting: the same model on pT > 0.5 GeV graphs, without retraining (20 test events).
	$(BIN)/hepxai tracking graphs --root $(TRACKING_ROOT) --setting pt05_mu200 --builder module_map --splits test
	$(BIN)/hepxai tracking evaluate --model $(TRACKING_RUN)/best.pt --graphs $(TRACKING_ROOT)/pt05_mu200/graphs/module_map --max-events 20 --out $(TRACKING_RUN)/eval_pt05 --threads 1 --cut 0.7 --best-neighbours-cut 0.3 --results results/tracking.csv

# results/tracking.csv, hierarchical part: the bipartite HGNN on the same events and module-map graphs (latent 32,
# 3-6 minutes an epoch on one thread; resumed from last.pt if stopped, HGNN_EPOCHS=N extends a finished run),
# evaluated on the 50 test events with every graph edge kept and with 20% dropped (every chain, Truth-CC
# included; docs/tracking.md); each evaluation also writes supernodes.csv and supernodes.png (supernodes against
# particles per test event). Then the learning curves (train draws them too; a run trained before that needs
# tracking curves) and the explanation of one hit-supernode assignment of the first test event
# (OUT_{hits,edges,supernodes}.csv, OUT.png).
HGNN_RUN := $(TRACKING_ROOT)/pt1_mu200/hgnn_bipartite
HGNN_EPOCHS ?= 20
results-tracking-hgnn: $(STAMP)
	$(BIN)/hepxai tracking events --root $(TRACKING_ROOT) --workers 1
	$(BIN)/hepxai tracking graphs --root $(TRACKING_ROOT) --builder module_map
	OMP_NUM_THREADS=1 $(BIN)/hepxai tracking train --model hgnn_bipartite --graphs $(TRACKING_GRAPHS) --out $(HGNN_RUN) --epochs $(HGNN_EPOCHS) --patience 10 --hidden 32 --iterations 6 --hierarchical-iterations 8 --wheel-epochs 6 --wheel-floor 0.5 --max-val-events 10 --threads 1 $$(test -f $(HGNN_RUN)/last.pt && echo --resume)
	for drop in 0 0.2; do \
		$(BIN)/hepxai tracking evaluate --model $(HGNN_RUN)/best.pt --graphs $(TRACKING_GRAPHS) --out $(HGNN_RUN)/eval_drop$$drop --cut 0.7 --edge-drop $$drop --threads 1 --results results/tracking.csv || exit 1; \
	done
	$(BIN)/hepxai tracking curves --run $(HGNN_RUN)
	$(BIN)/hepxai tracking explain --model $(HGNN_RUN)/best.pt --graphs $(TRACKING_GRAPHS) --out $(HGNN_RUN)/eval_drop0/assignment

# results/tracking.csv, embedding part: the Embedding IN and the embedding HGNN (hinge loss on pairs, candidates by
# HDBSCAN on the output embedding) on the same events and graphs, latent 32, one thread each, EMBEDDING_EPOCHS
# epochs (resumed from last.pt; a larger value extends a finished run), evaluated as the bipartite model. The two
# are independent: `make -j2 results-tracking-embedding` trains them side by side.
EMBEDDING_EPOCHS ?= 20
EMBEDDING_FLAGS_embedding_in :=
EMBEDDING_FLAGS_hgnn_embedding := --hierarchical-iterations 8 --wheel-epochs 6
results-tracking-embedding: results-tracking-embedding_in results-tracking-hgnn_embedding
results-tracking-embedding_in results-tracking-hgnn_embedding: results-tracking-%: $(STAMP)
	$(BIN)/hepxai tracking events --root $(TRACKING_ROOT) --workers 1
	$(BIN)/hepxai tracking graphs --root $(TRACKING_ROOT) --builder module_map
	OMP_NUM_THREADS=1 $(BIN)/hepxai tracking train --model $* --graphs $(TRACKING_GRAPHS) --out $(TRACKING_ROOT)/pt1_mu200/$* --epochs $(EMBEDDING_EPOCHS) --patience 10 --hidden 32 --iterations 6 $(EMBEDDING_FLAGS_$*) --max-val-events 10 --threads 1 $$(test -f $(TRACKING_ROOT)/pt1_mu200/$*/last.pt && echo --resume)
	for drop in 0 0.2; do \
		$(BIN)/hepxai tracking evaluate --model $(TRACKING_ROOT)/pt1_mu200/$*/best.pt --graphs $(TRACKING_GRAPHS) --out $(TRACKING_ROOT)/pt1_mu200/$*/eval_drop$$drop --edge-drop $$drop --threads 1 --results results/tracking.csv || exit 1; \
	done

clean:
	rm -rf $(VENV) $(DEMO_DIR) $(DEMO_TRACKING_ROOT) .pytest_cache
