package org.genrec.tools.bench;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small PNG line chart (headless AWT): a few named series over a shared x axis. */
final class LineChart {

    record Series(String name, List<double[]> points) {}

    private static final Color[] COLORS = { new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b) };

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, Series> series = new LinkedHashMap<>();

    LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    LineChart add(String name, double x, double y) {
        series.computeIfAbsent(name, n -> new Series(n, new java.util.ArrayList<>())).points().add(new double[] { x, y });
        return this;
    }

    void write(Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 900;
        int h = 560;
        int left = 80;
        int right = 330;
        int top = 50;
        int bottom = 60;
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double maxX = 0;
        double maxY = 0;
        for (Series s : series.values()) {
            for (double[] p : s.points()) {
                maxX = Math.max(maxX, p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        maxX = maxX == 0 ? 1 : maxX;
        maxY = maxY == 0 ? 1 : maxY * 1.1;
        int plotW = w - left - right;
        int plotH = h - top - bottom;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(title, left, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawLine(left, top + plotH, left + plotW, top + plotH);
        g.drawLine(left, top, left, top + plotH);
        for (int i = 0; i <= 5; i++) {
            int y = top + plotH - i * plotH / 5;
            int x = left + i * plotW / 5;
            g.setColor(new Color(0xdddddd));
            g.drawLine(left + 1, y, left + plotW, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format("%.3g", maxY * i / 5), 10, y + 4);
            g.drawString(String.format("%.3g", maxX * i / 5), x - 10, top + plotH + 18);
        }
        g.drawString(xLabel, left + plotW / 2 - 40, h - 15);
        g.drawString(yLabel, 10, top - 10);
        int legendY = top + 10;
        int c = 0;
        for (Series s : series.values()) {
            g.setColor(COLORS[c++ % COLORS.length]);
            g.setStroke(new BasicStroke(2f));
            int[] xs = new int[s.points().size()];
            int[] ys = new int[s.points().size()];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = left + (int) (s.points().get(i)[0] / maxX * plotW);
                ys[i] = top + plotH - (int) (s.points().get(i)[1] / maxY * plotH);
                g.fillOval(xs[i] - 3, ys[i] - 3, 6, 6);
            }
            g.drawPolyline(xs, ys, xs.length);
            g.drawLine(w - right + 15, legendY, w - right + 40, legendY);
            g.setColor(Color.BLACK);
            g.drawString(s.name(), w - right + 45, legendY + 4);
            legendY += 20;
        }
        g.dispose();
        ImageIO.write(image, "png", file.toFile());
    }
}
