/*
 * test_print.c -- txrt_print and txrt_format_scalar against numpy 1.24.
 *
 * Every expected string below was produced by numpy 1.24.2 itself
 * (/usr/bin/python3: str(a) for a rank >= 1 array followed by " DTYPE[SHAPE]",
 * str(a) of the numpy scalar for rank 0), for arrays built from the same
 * values: literal values are Python's repr of each element; a "ramp" case
 * has values (i * mul + off) / div in row-major order (and imaginary part
 * -2 times that for complex dtypes), computed identically in C and numpy.
 * If printing changes on purpose, regenerate them the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txrt.h"

typedef struct {
    const char *name;
    txrt_dtype dt;
    int rank;
    int64_t shape[4];
    int64_t n;
    const double *re, *im;    /* literal values, or NULL for a ramp */
    double ramp[3];           /* mul, div, off */
    const char *expect;
} pcase;

static const pcase cases[] = {
    { "integers", TXRT_F64, 2, {2, 3}, 6, (const double[]){1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, NULL, {0, 0, 0},
      "[[1. 2. 3.]\n"
      " [4. 5. 6.]] f64[2,3]" },
    { "halves", TXRT_F64, 2, {2, 2}, 4, (const double[]){1.5, 2.25, 3.0, 4.0}, NULL, {0, 0, 0},
      "[[1.5  2.25]\n"
      " [3.   4.  ]] f64[2,2]" },
    { "aligned_point", TXRT_F64, 1, {3}, 3, (const double[]){1.5, 10.25, 3.0}, NULL, {0, 0, 0},
      "[ 1.5  10.25  3.  ] f64[3]" },
    { "negatives", TXRT_F64, 1, {3}, 3, (const double[]){-1.5, 2.0, -300.125}, NULL, {0, 0, 0},
      "[  -1.5      2.    -300.125] f64[3]" },
    { "mixed_magnitudes", TXRT_F64, 1, {4}, 4, (const double[]){0.001, 1.0, 100.0, 0.5}, NULL, {0, 0, 0},
      "[1.e-03 1.e+00 1.e+02 5.e-01] f64[4]" },
    { "ratio_scientific", TXRT_F64, 1, {3}, 3, (const double[]){0.001, 1.0, 1000.5}, NULL, {0, 0, 0},
      "[1.0000e-03 1.0000e+00 1.0005e+03] f64[3]" },
    { "small_scientific", TXRT_F64, 1, {2}, 2, (const double[]){1e-05, 1e-06}, NULL, {0, 0, 0},
      "[1.e-05 1.e-06] f64[2]" },
    { "large_scientific", TXRT_F64, 1, {3}, 3, (const double[]){150000000.0, -2.0, 3.25}, NULL, {0, 0, 0},
      "[ 1.50e+08 -2.00e+00  3.25e+00] f64[3]" },
    { "three_digit_exponent", TXRT_F64, 1, {2}, 2, (const double[]){1e+100, 1e-05}, NULL, {0, 0, 0},
      "[1.e+100 1.e-005] f64[2]" },
    { "tiny_and_zero", TXRT_F64, 1, {3}, 3, (const double[]){0.0, 1e-09, -2.5e-07}, NULL, {0, 0, 0},
      "[ 0.0e+00  1.0e-09 -2.5e-07] f64[3]" },
    { "maxprec_cut", TXRT_F64, 1, {3}, 3, (const double[]){0.3333333333333333, 0.6666666666666666, 10.0}, NULL, {0, 0, 0},
      "[ 0.33333333  0.66666667 10.        ] f64[3]" },
    { "maxprec_cut_sci", TXRT_F64, 1, {3}, 3, (const double[]){0.3333333333333333, 0.6666666666666666, 1000000000.0}, NULL, {0, 0, 0},
      "[3.33333333e-01 6.66666667e-01 1.00000000e+09] f64[3]" },
    { "point_three", TXRT_F64, 1, {2}, 2, (const double[]){0.30000000000000004, 0.7}, NULL, {0, 0, 0},
      "[0.3 0.7] f64[2]" },
    { "neg_zero", TXRT_F64, 1, {2}, 2, (const double[]){-0.0, 1.0}, NULL, {0, 0, 0},
      "[-0.  1.] f64[2]" },
    { "zeros", TXRT_F64, 1, {4}, 4, (const double[]){0.0, 0.0, 0.0, 0.0}, NULL, {0, 0, 0},
      "[0. 0. 0. 0.] f64[4]" },
    { "nan_inf", TXRT_F64, 1, {2}, 2, (const double[]){NAN, -INFINITY}, NULL, {0, 0, 0},
      "[ nan -inf] f64[2]" },
    { "nan_inf_finite", TXRT_F64, 1, {4}, 4, (const double[]){NAN, 1.5, INFINITY, -2.25}, NULL, {0, 0, 0},
      "[  nan  1.5    inf -2.25] f64[4]" },
    { "all_nan", TXRT_F64, 1, {2}, 2, (const double[]){NAN, NAN}, NULL, {0, 0, 0},
      "[nan nan] f64[2]" },
    { "inf_in_sci", TXRT_F64, 1, {3}, 3, (const double[]){INFINITY, 1e-05, -10000000000.0}, NULL, {0, 0, 0},
      "[    inf  1.e-05 -1.e+10] f64[3]" },
    { "single", TXRT_F64, 1, {1}, 1, (const double[]){42.0}, NULL, {0, 0, 0},
      "[42.] f64[1]" },
    { "column", TXRT_F64, 2, {3, 1}, 3, (const double[]){1.0, -2.5, 300.0}, NULL, {0, 0, 0},
      "[[  1. ]\n"
      " [ -2.5]\n"
      " [300. ]] f64[3,1]" },
    { "wrap_row", TXRT_F64, 1, {30}, 30, NULL, NULL, {1.0, 1.0, 0.0},
      "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
      " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.] f64[30]" },
    { "wrap_rows_2d", TXRT_F64, 2, {2, 30}, 60, NULL, NULL, {1.0, 7.0, 0.0},
      "[[0.         0.14285714 0.28571429 0.42857143 0.57142857 0.71428571\n"
      "  0.85714286 1.         1.14285714 1.28571429 1.42857143 1.57142857\n"
      "  1.71428571 1.85714286 2.         2.14285714 2.28571429 2.42857143\n"
      "  2.57142857 2.71428571 2.85714286 3.         3.14285714 3.28571429\n"
      "  3.42857143 3.57142857 3.71428571 3.85714286 4.         4.14285714]\n"
      " [4.28571429 4.42857143 4.57142857 4.71428571 4.85714286 5.\n"
      "  5.14285714 5.28571429 5.42857143 5.57142857 5.71428571 5.85714286\n"
      "  6.         6.14285714 6.28571429 6.42857143 6.57142857 6.71428571\n"
      "  6.85714286 7.         7.14285714 7.28571429 7.42857143 7.57142857\n"
      "  7.71428571 7.85714286 8.         8.14285714 8.28571429 8.42857143]] f64[2,30]" },
    { "cube", TXRT_F64, 3, {2, 3, 4}, 24, NULL, NULL, {1.0, 1.0, 0.0},
      "[[[ 0.  1.  2.  3.]\n"
      "  [ 4.  5.  6.  7.]\n"
      "  [ 8.  9. 10. 11.]]\n"
      "\n"
      " [[12. 13. 14. 15.]\n"
      "  [16. 17. 18. 19.]\n"
      "  [20. 21. 22. 23.]]] f64[2,3,4]" },
    { "rank4", TXRT_F64, 4, {2, 2, 2, 2}, 16, NULL, NULL, {1.0, 4.0, -8.0},
      "[[[[-2.   -1.75]\n"
      "   [-1.5  -1.25]]\n"
      "\n"
      "  [[-1.   -0.75]\n"
      "   [-0.5  -0.25]]]\n"
      "\n"
      "\n"
      " [[[ 0.    0.25]\n"
      "   [ 0.5   0.75]]\n"
      "\n"
      "  [[ 1.    1.25]\n"
      "   [ 1.5   1.75]]]] f64[2,2,2,2]" },
    { "summary_2000", TXRT_F64, 1, {2000}, 2000, NULL, NULL, {1.0, 1.0, 0.0},
      "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03] f64[2000]" },
    { "summary_40x40", TXRT_F64, 2, {40, 40}, 1600, NULL, NULL, {1.0, 7.0, 0.0},
      "[[0.00000000e+00 1.42857143e-01 2.85714286e-01 ... 5.28571429e+00\n"
      "  5.42857143e+00 5.57142857e+00]\n"
      " [5.71428571e+00 5.85714286e+00 6.00000000e+00 ... 1.10000000e+01\n"
      "  1.11428571e+01 1.12857143e+01]\n"
      " [1.14285714e+01 1.15714286e+01 1.17142857e+01 ... 1.67142857e+01\n"
      "  1.68571429e+01 1.70000000e+01]\n"
      " ...\n"
      " [2.11428571e+02 2.11571429e+02 2.11714286e+02 ... 2.16714286e+02\n"
      "  2.16857143e+02 2.17000000e+02]\n"
      " [2.17142857e+02 2.17285714e+02 2.17428571e+02 ... 2.22428571e+02\n"
      "  2.22571429e+02 2.22714286e+02]\n"
      " [2.22857143e+02 2.23000000e+02 2.23142857e+02 ... 2.28142857e+02\n"
      "  2.28285714e+02 2.28428571e+02]] f64[40,40]" },
    { "summary_3d", TXRT_F64, 3, {10, 10, 12}, 1200, NULL, NULL, {3.0, 1.0, -1000.0},
      "[[[-1.000e+03 -9.970e+02 -9.940e+02 ... -9.730e+02 -9.700e+02 -9.670e+02]\n"
      "  [-9.640e+02 -9.610e+02 -9.580e+02 ... -9.370e+02 -9.340e+02 -9.310e+02]\n"
      "  [-9.280e+02 -9.250e+02 -9.220e+02 ... -9.010e+02 -8.980e+02 -8.950e+02]\n"
      "  ...\n"
      "  [-7.480e+02 -7.450e+02 -7.420e+02 ... -7.210e+02 -7.180e+02 -7.150e+02]\n"
      "  [-7.120e+02 -7.090e+02 -7.060e+02 ... -6.850e+02 -6.820e+02 -6.790e+02]\n"
      "  [-6.760e+02 -6.730e+02 -6.700e+02 ... -6.490e+02 -6.460e+02 -6.430e+02]]\n"
      "\n"
      " [[-6.400e+02 -6.370e+02 -6.340e+02 ... -6.130e+02 -6.100e+02 -6.070e+02]\n"
      "  [-6.040e+02 -6.010e+02 -5.980e+02 ... -5.770e+02 -5.740e+02 -5.710e+02]\n"
      "  [-5.680e+02 -5.650e+02 -5.620e+02 ... -5.410e+02 -5.380e+02 -5.350e+02]\n"
      "  ...\n"
      "  [-3.880e+02 -3.850e+02 -3.820e+02 ... -3.610e+02 -3.580e+02 -3.550e+02]\n"
      "  [-3.520e+02 -3.490e+02 -3.460e+02 ... -3.250e+02 -3.220e+02 -3.190e+02]\n"
      "  [-3.160e+02 -3.130e+02 -3.100e+02 ... -2.890e+02 -2.860e+02 -2.830e+02]]\n"
      "\n"
      " [[-2.800e+02 -2.770e+02 -2.740e+02 ... -2.530e+02 -2.500e+02 -2.470e+02]\n"
      "  [-2.440e+02 -2.410e+02 -2.380e+02 ... -2.170e+02 -2.140e+02 -2.110e+02]\n"
      "  [-2.080e+02 -2.050e+02 -2.020e+02 ... -1.810e+02 -1.780e+02 -1.750e+02]\n"
      "  ...\n"
      "  [-2.800e+01 -2.500e+01 -2.200e+01 ... -1.000e+00  2.000e+00  5.000e+00]\n"
      "  [ 8.000e+00  1.100e+01  1.400e+01 ...  3.500e+01  3.800e+01  4.100e+01]\n"
      "  [ 4.400e+01  4.700e+01  5.000e+01 ...  7.100e+01  7.400e+01  7.700e+01]]\n"
      "\n"
      " ...\n"
      "\n"
      " [[ 1.520e+03  1.523e+03  1.526e+03 ...  1.547e+03  1.550e+03  1.553e+03]\n"
      "  [ 1.556e+03  1.559e+03  1.562e+03 ...  1.583e+03  1.586e+03  1.589e+03]\n"
      "  [ 1.592e+03  1.595e+03  1.598e+03 ...  1.619e+03  1.622e+03  1.625e+03]\n"
      "  ...\n"
      "  [ 1.772e+03  1.775e+03  1.778e+03 ...  1.799e+03  1.802e+03  1.805e+03]\n"
      "  [ 1.808e+03  1.811e+03  1.814e+03 ...  1.835e+03  1.838e+03  1.841e+03]\n"
      "  [ 1.844e+03  1.847e+03  1.850e+03 ...  1.871e+03  1.874e+03  1.877e+03]]\n"
      "\n"
      " [[ 1.880e+03  1.883e+03  1.886e+03 ...  1.907e+03  1.910e+03  1.913e+03]\n"
      "  [ 1.916e+03  1.919e+03  1.922e+03 ...  1.943e+03  1.946e+03  1.949e+03]\n"
      "  [ 1.952e+03  1.955e+03  1.958e+03 ...  1.979e+03  1.982e+03  1.985e+03]\n"
      "  ...\n"
      "  [ 2.132e+03  2.135e+03  2.138e+03 ...  2.159e+03  2.162e+03  2.165e+03]\n"
      "  [ 2.168e+03  2.171e+03  2.174e+03 ...  2.195e+03  2.198e+03  2.201e+03]\n"
      "  [ 2.204e+03  2.207e+03  2.210e+03 ...  2.231e+03  2.234e+03  2.237e+03]]\n"
      "\n"
      " [[ 2.240e+03  2.243e+03  2.246e+03 ...  2.267e+03  2.270e+03  2.273e+03]\n"
      "  [ 2.276e+03  2.279e+03  2.282e+03 ...  2.303e+03  2.306e+03  2.309e+03]\n"
      "  [ 2.312e+03  2.315e+03  2.318e+03 ...  2.339e+03  2.342e+03  2.345e+03]\n"
      "  ...\n"
      "  [ 2.492e+03  2.495e+03  2.498e+03 ...  2.519e+03  2.522e+03  2.525e+03]\n"
      "  [ 2.528e+03  2.531e+03  2.534e+03 ...  2.555e+03  2.558e+03  2.561e+03]\n"
      "  [ 2.564e+03  2.567e+03  2.570e+03 ...  2.591e+03  2.594e+03  2.597e+03]]] f64[10,10,12]" },
    { "summary_1001", TXRT_F64, 1, {1001}, 1001, NULL, NULL, {1.0, 1000.0, 0.0},
      "[0.    0.001 0.002 ... 0.998 0.999 1.   ] f64[1001]" },
    { "no_summary_1000", TXRT_F64, 1, {1000}, 1000, NULL, NULL, {1.0, 1.0, 0.0},
      "[  0.   1.   2.   3.   4.   5.   6.   7.   8.   9.  10.  11.  12.  13.\n"
      "  14.  15.  16.  17.  18.  19.  20.  21.  22.  23.  24.  25.  26.  27.\n"
      "  28.  29.  30.  31.  32.  33.  34.  35.  36.  37.  38.  39.  40.  41.\n"
      "  42.  43.  44.  45.  46.  47.  48.  49.  50.  51.  52.  53.  54.  55.\n"
      "  56.  57.  58.  59.  60.  61.  62.  63.  64.  65.  66.  67.  68.  69.\n"
      "  70.  71.  72.  73.  74.  75.  76.  77.  78.  79.  80.  81.  82.  83.\n"
      "  84.  85.  86.  87.  88.  89.  90.  91.  92.  93.  94.  95.  96.  97.\n"
      "  98.  99. 100. 101. 102. 103. 104. 105. 106. 107. 108. 109. 110. 111.\n"
      " 112. 113. 114. 115. 116. 117. 118. 119. 120. 121. 122. 123. 124. 125.\n"
      " 126. 127. 128. 129. 130. 131. 132. 133. 134. 135. 136. 137. 138. 139.\n"
      " 140. 141. 142. 143. 144. 145. 146. 147. 148. 149. 150. 151. 152. 153.\n"
      " 154. 155. 156. 157. 158. 159. 160. 161. 162. 163. 164. 165. 166. 167.\n"
      " 168. 169. 170. 171. 172. 173. 174. 175. 176. 177. 178. 179. 180. 181.\n"
      " 182. 183. 184. 185. 186. 187. 188. 189. 190. 191. 192. 193. 194. 195.\n"
      " 196. 197. 198. 199. 200. 201. 202. 203. 204. 205. 206. 207. 208. 209.\n"
      " 210. 211. 212. 213. 214. 215. 216. 217. 218. 219. 220. 221. 222. 223.\n"
      " 224. 225. 226. 227. 228. 229. 230. 231. 232. 233. 234. 235. 236. 237.\n"
      " 238. 239. 240. 241. 242. 243. 244. 245. 246. 247. 248. 249. 250. 251.\n"
      " 252. 253. 254. 255. 256. 257. 258. 259. 260. 261. 262. 263. 264. 265.\n"
      " 266. 267. 268. 269. 270. 271. 272. 273. 274. 275. 276. 277. 278. 279.\n"
      " 280. 281. 282. 283. 284. 285. 286. 287. 288. 289. 290. 291. 292. 293.\n"
      " 294. 295. 296. 297. 298. 299. 300. 301. 302. 303. 304. 305. 306. 307.\n"
      " 308. 309. 310. 311. 312. 313. 314. 315. 316. 317. 318. 319. 320. 321.\n"
      " 322. 323. 324. 325. 326. 327. 328. 329. 330. 331. 332. 333. 334. 335.\n"
      " 336. 337. 338. 339. 340. 341. 342. 343. 344. 345. 346. 347. 348. 349.\n"
      " 350. 351. 352. 353. 354. 355. 356. 357. 358. 359. 360. 361. 362. 363.\n"
      " 364. 365. 366. 367. 368. 369. 370. 371. 372. 373. 374. 375. 376. 377.\n"
      " 378. 379. 380. 381. 382. 383. 384. 385. 386. 387. 388. 389. 390. 391.\n"
      " 392. 393. 394. 395. 396. 397. 398. 399. 400. 401. 402. 403. 404. 405.\n"
      " 406. 407. 408. 409. 410. 411. 412. 413. 414. 415. 416. 417. 418. 419.\n"
      " 420. 421. 422. 423. 424. 425. 426. 427. 428. 429. 430. 431. 432. 433.\n"
      " 434. 435. 436. 437. 438. 439. 440. 441. 442. 443. 444. 445. 446. 447.\n"
      " 448. 449. 450. 451. 452. 453. 454. 455. 456. 457. 458. 459. 460. 461.\n"
      " 462. 463. 464. 465. 466. 467. 468. 469. 470. 471. 472. 473. 474. 475.\n"
      " 476. 477. 478. 479. 480. 481. 482. 483. 484. 485. 486. 487. 488. 489.\n"
      " 490. 491. 492. 493. 494. 495. 496. 497. 498. 499. 500. 501. 502. 503.\n"
      " 504. 505. 506. 507. 508. 509. 510. 511. 512. 513. 514. 515. 516. 517.\n"
      " 518. 519. 520. 521. 522. 523. 524. 525. 526. 527. 528. 529. 530. 531.\n"
      " 532. 533. 534. 535. 536. 537. 538. 539. 540. 541. 542. 543. 544. 545.\n"
      " 546. 547. 548. 549. 550. 551. 552. 553. 554. 555. 556. 557. 558. 559.\n"
      " 560. 561. 562. 563. 564. 565. 566. 567. 568. 569. 570. 571. 572. 573.\n"
      " 574. 575. 576. 577. 578. 579. 580. 581. 582. 583. 584. 585. 586. 587.\n"
      " 588. 589. 590. 591. 592. 593. 594. 595. 596. 597. 598. 599. 600. 601.\n"
      " 602. 603. 604. 605. 606. 607. 608. 609. 610. 611. 612. 613. 614. 615.\n"
      " 616. 617. 618. 619. 620. 621. 622. 623. 624. 625. 626. 627. 628. 629.\n"
      " 630. 631. 632. 633. 634. 635. 636. 637. 638. 639. 640. 641. 642. 643.\n"
      " 644. 645. 646. 647. 648. 649. 650. 651. 652. 653. 654. 655. 656. 657.\n"
      " 658. 659. 660. 661. 662. 663. 664. 665. 666. 667. 668. 669. 670. 671.\n"
      " 672. 673. 674. 675. 676. 677. 678. 679. 680. 681. 682. 683. 684. 685.\n"
      " 686. 687. 688. 689. 690. 691. 692. 693. 694. 695. 696. 697. 698. 699.\n"
      " 700. 701. 702. 703. 704. 705. 706. 707. 708. 709. 710. 711. 712. 713.\n"
      " 714. 715. 716. 717. 718. 719. 720. 721. 722. 723. 724. 725. 726. 727.\n"
      " 728. 729. 730. 731. 732. 733. 734. 735. 736. 737. 738. 739. 740. 741.\n"
      " 742. 743. 744. 745. 746. 747. 748. 749. 750. 751. 752. 753. 754. 755.\n"
      " 756. 757. 758. 759. 760. 761. 762. 763. 764. 765. 766. 767. 768. 769.\n"
      " 770. 771. 772. 773. 774. 775. 776. 777. 778. 779. 780. 781. 782. 783.\n"
      " 784. 785. 786. 787. 788. 789. 790. 791. 792. 793. 794. 795. 796. 797.\n"
      " 798. 799. 800. 801. 802. 803. 804. 805. 806. 807. 808. 809. 810. 811.\n"
      " 812. 813. 814. 815. 816. 817. 818. 819. 820. 821. 822. 823. 824. 825.\n"
      " 826. 827. 828. 829. 830. 831. 832. 833. 834. 835. 836. 837. 838. 839.\n"
      " 840. 841. 842. 843. 844. 845. 846. 847. 848. 849. 850. 851. 852. 853.\n"
      " 854. 855. 856. 857. 858. 859. 860. 861. 862. 863. 864. 865. 866. 867.\n"
      " 868. 869. 870. 871. 872. 873. 874. 875. 876. 877. 878. 879. 880. 881.\n"
      " 882. 883. 884. 885. 886. 887. 888. 889. 890. 891. 892. 893. 894. 895.\n"
      " 896. 897. 898. 899. 900. 901. 902. 903. 904. 905. 906. 907. 908. 909.\n"
      " 910. 911. 912. 913. 914. 915. 916. 917. 918. 919. 920. 921. 922. 923.\n"
      " 924. 925. 926. 927. 928. 929. 930. 931. 932. 933. 934. 935. 936. 937.\n"
      " 938. 939. 940. 941. 942. 943. 944. 945. 946. 947. 948. 949. 950. 951.\n"
      " 952. 953. 954. 955. 956. 957. 958. 959. 960. 961. 962. 963. 964. 965.\n"
      " 966. 967. 968. 969. 970. 971. 972. 973. 974. 975. 976. 977. 978. 979.\n"
      " 980. 981. 982. 983. 984. 985. 986. 987. 988. 989. 990. 991. 992. 993.\n"
      " 994. 995. 996. 997. 998. 999.] f64[1000]" },
    { "summary_2x1000", TXRT_F64, 2, {2, 1000}, 2000, NULL, NULL, {1.0, 1.0, 0.0},
      "[[0.000e+00 1.000e+00 2.000e+00 ... 9.970e+02 9.980e+02 9.990e+02]\n"
      " [1.000e+03 1.001e+03 1.002e+03 ... 1.997e+03 1.998e+03 1.999e+03]] f64[2,1000]" },
    { "complex_basic", TXRT_C128, 1, {2}, 2, (const double[]){1.0, 3.0}, (const double[]){2.0, -0.5}, {0, 0, 0},
      "[1.+2.j  3.-0.5j] c128[2]" },
    { "complex_nan", TXRT_C128, 1, {2}, 2, (const double[]){1.0, INFINITY}, (const double[]){NAN, 2.0}, {0, 0, 0},
      "[ 1.+nanj inf +2.j] c128[2]" },
    { "complex_2d", TXRT_C128, 2, {2, 2}, 4, (const double[]){1.0, -2.5, 0.0, 0.001}, (const double[]){1.0, 0.0, -3.0, 1000.0}, {0, 0, 0},
      "[[ 1.0e+00   +1.j -2.5e+00   +0.j]\n"
      " [ 0.0e+00   -3.j  1.0e-03+1000.j]] c128[2,2]" },
    { "complex_sci", TXRT_C128, 1, {2}, 2, (const double[]){1e-05, 2.0}, (const double[]){1.0, 3000000000.0}, {0, 0, 0},
      "[1.e-05+1.e+00j 2.e+00+3.e+09j] c128[2]" },
    { "complex_wrap", TXRT_C128, 1, {12}, 12, NULL, NULL, {1.0, 3.0, 0.0},
      "[0.        +0.j         0.33333333-0.66666667j 0.66666667-1.33333333j\n"
      " 1.        -2.j         1.33333333-2.66666667j 1.66666667-3.33333333j\n"
      " 2.        -4.j         2.33333333-4.66666667j 2.66666667-5.33333333j\n"
      " 3.        -6.j         3.33333333-6.66666667j 3.66666667-7.33333333j] c128[12]" },
    { "complex_summary", TXRT_C64, 1, {1200}, 1200, NULL, NULL, {1.0, 8.0, -3.0},
      "[-3.75000e-01+7.5000e-01j -2.50000e-01+5.0000e-01j\n"
      " -1.25000e-01+2.5000e-01j ...  1.49250e+02-2.9850e+02j\n"
      "  1.49375e+02-2.9875e+02j  1.49500e+02-2.9900e+02j] c64[1200]" },
    { "f32_tenth", TXRT_F32, 1, {3}, 3, (const double[]){0.10000000149011612, 0.20000000298023224, 0.30000001192092896}, NULL, {0, 0, 0},
      "[0.1 0.2 0.3] f32[3]" },
    { "f32_sci", TXRT_F32, 1, {2}, 2, (const double[]){0.10000000149011612, 1.2345678442216013e-05}, NULL, {0, 0, 0},
      "[1.0000000e-01 1.2345678e-05] f32[2]" },
    { "f32_third", TXRT_F32, 1, {2}, 2, (const double[]){0.3333333432674408, 3.141590118408203}, NULL, {0, 0, 0},
      "[0.33333334 3.14159   ] f32[2]" },
    { "f32_big_int", TXRT_F32, 1, {2}, 2, (const double[]){97049792.0, 1.0}, NULL, {0, 0, 0},
      "[9.704979e+07 1.000000e+00] f32[2]" },
    { "c64_basic", TXRT_C64, 1, {2}, 2, (const double[]){0.10000000149011612, -1.5}, (const double[]){0.20000000298023224, -2.0}, {0, 0, 0},
      "[ 0.1+0.2j -1.5-2.j ] c64[2]" },
    { "empty", TXRT_F64, 1, {0}, 0, (const double[]){0}, NULL, {0, 0, 0},
      "[] f64[0]" },
    { "empty_0x3", TXRT_F64, 2, {0, 3}, 0, (const double[]){0}, NULL, {0, 0, 0},
      "[] f64[0,3]" },
    { "empty_3x0", TXRT_C128, 2, {3, 0}, 0, (const double[]){0}, NULL, {0, 0, 0},
      "[] c128[3,0]" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){0.1}, NULL, {0, 0, 0},
      "0.1" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){3.0}, NULL, {0, 0, 0},
      "3.0" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){1e-05}, NULL, {0, 0, 0},
      "1e-05" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){1e+20}, NULL, {0, 0, 0},
      "1e+20" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){NAN}, NULL, {0, 0, 0},
      "nan" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){INFINITY}, NULL, {0, 0, 0},
      "inf" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){-INFINITY}, NULL, {0, 0, 0},
      "-inf" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){-0.0}, NULL, {0, 0, 0},
      "-0.0" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){1e+16}, NULL, {0, 0, 0},
      "1e+16" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){123456789.125}, NULL, {0, 0, 0},
      "123456789.125" },
    { "scalar", TXRT_F64, 0, {0}, 1, (const double[]){5.684341886080802e-14}, NULL, {0, 0, 0},
      "5.684341886080802e-14" },
    { "scalar", TXRT_F32, 0, {0}, 1, (const double[]){0.10000000149011612}, NULL, {0, 0, 0},
      "0.1" },
    { "scalar", TXRT_F32, 0, {0}, 1, (const double[]){0.3333333432674408}, NULL, {0, 0, 0},
      "0.33333334" },
    { "scalar", TXRT_F32, 0, {0}, 1, (const double[]){97049792.0}, NULL, {0, 0, 0},
      "97049790.0" },
    { "scalar", TXRT_F32, 0, {0}, 1, (const double[]){9.999999747378752e-06}, NULL, {0, 0, 0},
      "1e-05" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){1.0}, (const double[]){2.0}, {0, 0, 0},
      "(1+2j)" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){0.0}, (const double[]){2.0}, {0, 0, 0},
      "2j" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){0.0}, (const double[]){-0.0}, {0, 0, 0},
      "-0j" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){NAN}, (const double[]){INFINITY}, {0, 0, 0},
      "(nan+infj)" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){1.5}, (const double[]){-0.5}, {0, 0, 0},
      "(1.5-0.5j)" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){1e+20}, (const double[]){1e-05}, {0, 0, 0},
      "(1e+20+1e-05j)" },
    { "scalar", TXRT_C64, 0, {0}, 1, (const double[]){0.10000000149011612}, (const double[]){0.20000000298023224}, {0, 0, 0},
      "(0.1+0.2j)" },
    { "scalar", TXRT_C128, 0, {0}, 1, (const double[]){-0.0}, (const double[]){1.0}, {0, 0, 0},
      "(-0+1j)" },
};

/* What txrt_print writes for t. */
static char *render(const txrt_tensor *t) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    txrt_print(f, t);
    fclose(f);
    return buf;
}

static txrt_tensor *build(const pcase *c) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_tensor_new(&ctx, c->dt, c->rank, c->shape);
    assert_non_null(t);
    assert_int_equal(t->size, c->n);
    for (int64_t i = 0; i < c->n; i++) {
        if (c->re) {
            txrt_set(t, i, c->re[i], c->im ? c->im[i] : 0);
        } else {
            double v = ((double)i * c->ramp[0] + c->ramp[2]) / c->ramp[1];
            double im = -2 * v;
            if (im == 0) im = 0.0;   /* numpy's v + 1j*(-2*v) has imaginary part +0 */
            txrt_set(t, i, v, im);
        }
    }
    return t;
}

static void numpy_cases(void **state) {
    (void)state;
    int failed = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        txrt_tensor *t = build(&cases[k]);
        char *got = render(t);
        if (strcmp(got, cases[k].expect) != 0) {
            print_error("case %zu (%s):\n--- numpy\n%s\n--- txrt_print\n%s\n", k, cases[k].name,
                        cases[k].expect, got);
            failed++;
        }
        free(got);
        txrt_release(t);
    }
    assert_int_equal(failed, 0);
}

/* A rank-0 tensor prints exactly as txrt_format_scalar formats its value. */
static void scalar_matches_format(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const double vals[] = { 0.1, -2.5, 1e300, 5e-324, 0.0, 123.0 };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        txrt_tensor *t = txrt_scalar_new(&ctx, TXRT_C128, vals[i], -vals[i]);
        char buf[128];
        txrt_format_scalar(buf, sizeof buf, TXRT_C128, vals[i], -vals[i]);
        char *got = render(t);
        assert_string_equal(got, buf);
        free(got);
        txrt_release(t);
    }
}

static void format_scalar_values(void **state) {
    (void)state;
    char buf[64];
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 0.1, 0);
    assert_string_equal(buf, "0.1");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 1.0 / 3, 0);
    assert_string_equal(buf, "0.3333333333333333");
    txrt_format_scalar(buf, sizeof buf, TXRT_F32, 1.0 / 3, 0);   /* rounded to float first */
    assert_string_equal(buf, "0.33333334");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 1e15, 0);
    assert_string_equal(buf, "1000000000000000.0");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 9.999999999999998e15, 0);
    assert_string_equal(buf, "9999999999999998.0");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 1e-4, 0);
    assert_string_equal(buf, "0.0001");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, -1.5e-300, 0);
    assert_string_equal(buf, "-1.5e-300");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 5e-324, 0);
    assert_string_equal(buf, "5e-324");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 1.7976931348623157e308, 0);
    assert_string_equal(buf, "1.7976931348623157e+308");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, -NAN, 0);
    assert_string_equal(buf, "nan");
    txrt_format_scalar(buf, sizeof buf, TXRT_F64, 2.5, 7);         /* real dtype: im ignored */
    assert_string_equal(buf, "2.5");
    txrt_format_scalar(buf, sizeof buf, TXRT_C128, 0, -1);
    assert_string_equal(buf, "-1j");
    txrt_format_scalar(buf, sizeof buf, TXRT_C128, 0, 0);
    assert_string_equal(buf, "0j");
    txrt_format_scalar(buf, sizeof buf, TXRT_C128, -1, NAN);
    assert_string_equal(buf, "(-1+nanj)");
    txrt_format_scalar(buf, sizeof buf, TXRT_C128, 1, -INFINITY);
    assert_string_equal(buf, "(1-infj)");
    /* truncation keeps a terminated prefix */
    txrt_format_scalar(buf, 4, TXRT_F64, 123456.0, 0);
    assert_string_equal(buf, "123");
}

/* Significant digits in a printed number: "0.00120" -> 2, "1.5e-05" -> 2. */
static int significant_digits(const char *s) {
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && n < 63) d[n++] = *s;
    int lo = 0;
    while (lo < n && d[lo] == '0') lo++;
    while (n > lo && d[n - 1] == '0') n--;
    return n - lo;
}

/* Shortest round trip for many values: every printed scalar reads back. */
static void scalar_round_trip(void **state) {
    (void)state;
    uint64_t x = 88172645463325252ULL;
    char buf[64];
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d)) continue;
        txrt_format_scalar(buf, sizeof buf, TXRT_F64, d, 0);
        assert_true(strtod(buf, NULL) == d);
        float f = (float)ldexp((double)(x >> 40) / (double)(1 << 24), (int)(x % 200) - 100);
        txrt_format_scalar(buf, sizeof buf, TXRT_F32, f, 0);
        assert_true(strtof(buf, NULL) == f);
        assert_true(significant_digits(buf) <= 9);
    }
}

static void null_and_no_newline(void **state) {
    (void)state;
    char *got = render(NULL);
    assert_string_equal(got, "<no tensor>");
    free(got);
    txrt_print(NULL, NULL);   /* no stream: nothing happens */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[1] = { 2 };
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F64, 1, shape);
    got = render(t);
    assert_string_equal(got, "[0. 0.] f64[2]");   /* no trailing newline: the caller adds it */
    free(got);
    txrt_release(t);
}

/* A big tensor prints only its edges: quick, and short. */
static void big_tensor_is_summarised(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[3] = { 200, 300, 50 };
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F32, 3, shape);
    assert_non_null(t);
    txrt_fill_rand(t, 7);
    char *got = render(t);
    assert_true(strlen(got) < 4000);
    assert_non_null(strstr(got, "..."));
    assert_non_null(strstr(got, " f32[200,300,50]"));
    free(got);
    txrt_release(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numpy_cases),
        cmocka_unit_test(scalar_matches_format),
        cmocka_unit_test(format_scalar_values),
        cmocka_unit_test(scalar_round_trip),
        cmocka_unit_test(null_and_no_newline),
        cmocka_unit_test(big_tensor_is_summarised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
