import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'react';
import { useI18n } from '../i18n/i18n';
import type { SeriesAnswer, WidgetType } from './dashboard-model';

// Only the parts the four chart types need: Chart.js tree-shakes to them.
Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
);

/** Colour-blind-safe palette (Okabe–Ito). */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

/**
 * A line, bar, stacked bar or pie chart on a canvas. The canvas is one image to assistive technology, named by the
 * widget's title; the numbers themselves are in the data table next to it.
 */
export default function DashboardChart({
  type,
  data,
  label,
}: {
  type: Exclude<WidgetType, 'kpi' | 'table'>;
  data: SeriesAnswer;
  label: string;
}) {
  const { date, lang } = useI18n();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p.t)))].sort();
    const chart =
      type === 'pie'
        ? new Chart(canvas.current, {
            type: 'pie',
            data: {
              labels: data.series.map((s) => s.key),
              datasets: [
                {
                  data: data.series.map((s) => s.points.reduce((a, p) => a + (p.value ?? 0), 0)),
                  backgroundColor: data.series.map((_, i) => COLOURS[i % COLOURS.length] as string),
                },
              ],
            },
            options: { animation: false, maintainAspectRatio: false, locale: lang },
          })
        : new Chart(canvas.current, {
            type: type === 'line' ? 'line' : 'bar',
            data: {
              labels: times.map((t) => date(t)),
              datasets: data.series.map((s, i) => ({
                label: s.key,
                data: times.map((t) => s.points.find((p) => p.t === t)?.value ?? null),
                backgroundColor: COLOURS[i % COLOURS.length],
                borderColor: COLOURS[i % COLOURS.length],
              })),
            },
            options: {
              animation: false,
              maintainAspectRatio: false,
              locale: lang,
              scales: {
                x: { stacked: type === 'stacked_bar' },
                y: { stacked: type === 'stacked_bar', beginAtZero: true },
              },
            },
          });
    return () => chart.destroy();
  }, [type, data, date, lang]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
