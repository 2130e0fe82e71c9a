package org.genrec.tools.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LeaveLastOutTest {

    private static LeaveLastOut.Event event(String user, String item, long time) {
        return new LeaveLastOut.Event(user, item, "click", time, null, null);
    }

    @Test
    void theLastEventInTimeOrderIsTheTargetWithEqualTimesInFileOrder() {
        List<LeaveLastOut.Case> cases = LeaveLastOut.cases(List.of(
            event("u1", "c", 30), event("u2", "x", 5), event("u1", "a", 10), event("u1", "d", 30), event("u1", "b", 20),
            event("u2", "y", 6)));
        assertEquals(1, cases.size(), "u2 has two events: none held out, as in the trainer");
        LeaveLastOut.Case c = cases.get(0);
        assertEquals("u1", c.userId());
        assertEquals("d", c.target().itemId(), "c and d share time 30: the later line is the later event");
        assertEquals(List.of("a", "b", "c"), c.history().stream().map(LeaveLastOut.Event::itemId).toList());
    }
}
