package org.genrec.tools.bench;

import org.genrec.tools.CliArgs;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The load plan printed before a run: a soak sized from it must end when its caller expects. */
class BenchCommandTest {

    @Test
    void everyVariantIsWarmedAndMeasuredForTheFullDuration() {
        // recommend: two cells (history 50, 200) x two concurrency levels x (true, coordinator, kNN) = 12 variant runs of 3 + 10 s.
        assertEquals(12 * 13, BenchCommand.plannedLoadSeconds(List.of(BenchRequests.Mix.RECOMMEND), 2, 2, 1, 1, 2, Duration.ofSeconds(3),
            Duration.ofSeconds(10)));
    }

    @Test
    void theRescorerMeasuresOneGenrecVariantWhateverTheRankingList() {
        // rescore: 1 cell x 1 level x (genrec, match) = 2; search: 1 x 1 x (true, false, coordinator, kNN) = 4.
        assertEquals(6 * 100, BenchCommand.plannedLoadSeconds(List.of(BenchRequests.Mix.RESCORE, BenchRequests.Mix.SEARCH), 1, 3, 1, 1, 1,
            Duration.ZERO, Duration.ofSeconds(100)));
    }

    @Test
    void eachHistorySourceIsAVariantOfEveryRanking() {
        // recommend: 1 cell x 1 level x ((true, false) x (request, index) + kNN) = 5 variant runs of 10 s.
        assertEquals(5 * 10, BenchCommand.plannedLoadSeconds(List.of(BenchRequests.Mix.RECOMMEND), 1, 2, 2, 1, 1, Duration.ZERO,
            Duration.ofSeconds(10)));
    }

    @Test
    void eachCandidateCountIsAVariantOfTheKnnQueriesButNotOfTheRescorer() {
        // recommend: 1 x 1 x ((true) x (k, 400, 1000) + kNN) = 4; rescore: (genrec, match) = 2; 10 s each.
        assertEquals(6 * 10, BenchCommand.plannedLoadSeconds(List.of(BenchRequests.Mix.RECOMMEND, BenchRequests.Mix.RESCORE), 1, 1, 1, 3, 1,
            Duration.ZERO, Duration.ofSeconds(10)));
    }

    @Test
    void candidateCountsKeepTheirOrderTakeKForTheDefaultAndRefuseACountBelowK() {
        assertEquals(Arrays.asList(null, 400, 1000), BenchCommand.numCandidates("k, 400,1000,400", new int[] { 100 }));
        CliArgs.UsageException below = assertThrows(CliArgs.UsageException.class,
            () -> BenchCommand.numCandidates("k,150", new int[] { 100, 200 }));
        assertEquals("--num-candidates 150 is below --k 200: the query needs k or more", below.getMessage());
        CliArgs.UsageException word = assertThrows(CliArgs.UsageException.class, () -> BenchCommand.numCandidates("many", new int[] { 10 }));
        assertTrue(word.getMessage().contains("[many]"), word.getMessage());
    }

    @Test
    void aListOfChoicesKeepsTheOrderGivenAndNamesTheChoicesWhenOneIsUnknown() {
        assertEquals(List.of(BenchRequests.Ranking.OFF, BenchRequests.Ranking.SHARDS),
            BenchCommand.choices("rank", "false, true,false", BenchRequests.Ranking.values(), r -> r.cliValue));
        CliArgs.UsageException e = assertThrows(CliArgs.UsageException.class,
            () -> BenchCommand.choices("history-from", "request,users", BenchRequests.HistorySource.values(), h -> h.cliValue));
        assertEquals("--history-from takes request, index (comma-separated), not [users]", e.getMessage());
    }
}
